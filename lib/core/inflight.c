/*
 * inflight.c: file data moved outside the filesystem lock.
 *
 * A read, or a write over blocks that already hold the file's data, is
 * mapped under the lock (data.c), then the bytes move with the lock
 * dropped, then the lock is taken again to finish.  While bytes are in
 * flight the inode is counted here.  Whatever frees or moves a file's
 * blocks (truncate, punch, zero range) first drains the inode: it waits,
 * with the lock released, until nothing is in flight, and new transfers
 * of that inode wait for it in turn, so a freed block is never read or
 * written by a transfer mapped before it was freed (it may already be
 * another file's).  Writes that allocate, extend the file or convert
 * unwritten blocks stay under the lock: a journal commit can then never
 * make reachable a block whose data is still in flight (ordered mode).
 *
 * Every function here is called with the filesystem lock held.
 */
#include <errno.h>
#include <stdlib.h>

#include "array.h"
#include "core/ngfs.h"

struct ngfs_inflight {
	ext2_ino_t ino;
	unsigned int transfers;	/* bytes moving outside the lock */
	unsigned int drainers;	/* verbs waiting to free blocks */
};

static void io_setup(struct ngfs *nf)
{
	if (!nf->io_ready) {
		pthread_cond_init(&nf->io_cond, NULL);
		nf->io_ready = 1;
	}
}

static struct ngfs_inflight *find(struct ngfs *nf, ext2_ino_t ino)
{
	size_t i;

	for (i = 0; i < nf->ninflight; i++)
		if (nf->inflight[i].ino == ino)
			return &nf->inflight[i];
	return NULL;
}

static struct ngfs_inflight *get(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_inflight *e = find(nf, ino);

	if (e)
		return e;
	if (ng_array_room(&nf->inflight, &nf->inflight_cap, nf->ninflight,
			  sizeof(*nf->inflight), 16))
		return NULL;
	e = &nf->inflight[nf->ninflight++];
	e->ino = ino;
	e->transfers = e->drainers = 0;
	return e;
}

static void put(struct ngfs *nf, struct ngfs_inflight *e)
{
	if (!e->transfers && !e->drainers)
		*e = nf->inflight[--nf->ninflight];
}

/* Wait with the lock released; the caller's reserved-blocks right survives. */
static void wait_lock_released(struct ngfs *nf)
{
	int reserved = nf->caller_reserved;

	pthread_cond_wait(&nf->io_cond, &nf->lock);
	nf->caller_reserved = reserved;
}

int ngfs_io_enter(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_inflight *e;

	io_setup(nf);
	while ((e = find(nf, ino)) && e->drainers)
		wait_lock_released(nf);
	if (!(e = get(nf, ino)))
		return ENOMEM;
	e->transfers++;
	return 0;
}

void ngfs_io_leave(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_inflight *e = find(nf, ino);

	if (!e || !e->transfers)
		return;
	e->transfers--;
	if (!e->transfers && e->drainers)
		pthread_cond_broadcast(&nf->io_cond);
	put(nf, e);
}

int ngfs_io_drain(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_inflight *e = find(nf, ino);

	if (!e || !e->transfers)
		return 0;
	io_setup(nf);
	e->drainers++;
	do {
		wait_lock_released(nf);
		e = find(nf, ino);	/* the table may have moved */
	} while (e->transfers);
	e->drainers--;
	put(nf, e);
	pthread_cond_broadcast(&nf->io_cond);	/* transfers waiting for us */
	return 1;
}

void ngfs_io_free(struct ngfs *nf)
{
	free(nf->inflight);
	nf->inflight = NULL;
	nf->ninflight = nf->inflight_cap = 0;
	if (nf->io_ready)
		pthread_cond_destroy(&nf->io_cond);
	nf->io_ready = 0;
}
