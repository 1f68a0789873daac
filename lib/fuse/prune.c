/*
 * prune.c: keep the daemon's node table bounded (-o node_cache=N).
 *
 * With long entry timeouts the kernel keeps every inode a walk looked up
 * until memory pressure evicts it, and the daemon keeps a node for each
 * (node.c): memory grows with the filesystem, not with a cache size.  Past
 * N nodes this thread sends FUSE_NOTIFY_PRUNE (protocol 7.45, Linux 6.16)
 * with inodes nothing has open: the kernel drops their unused dentries,
 * evicts the inodes and sends FORGET, which frees the nodes.  Inodes still
 * in use (open, a cwd, a directory with cached children) stay; the next
 * rounds get to them.  Hand-written wire message: libfuse 3.14 has no
 * call for it.  Not used on the iomap RFC kernel, where notify code 9
 * means something else (doc: ../shared/protocol/fuse-extensions-spec.md).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse/front.h"
#include "fuse/wire.h"

#define NOTIFY_PRUNE 9
#define PRUNE_BATCH 16384	/* node ids per notification */

struct prune_msg {
	uint32_t count;
	uint32_t padding;
	uint64_t spare;
	uint64_t ids[PRUNE_BATCH];
};

/* Under the filesystem lock (node.c): wake the thread. */
static void nodes_over(struct ngfs *nf)
{
	struct front *f = (struct front *)nf;	/* nf is the first member */

	pthread_mutex_lock(&f->prune.lock);
	f->prune.wanted = 1;
	pthread_cond_signal(&f->prune.wake);
	pthread_mutex_unlock(&f->prune.lock);
}

static void *prune_thread(void *arg)
{
	struct front *f = arg;
	struct prune_msg *m = malloc(sizeof(*m));
	size_t limit = f->nf.node_limit, n, want;
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	if (!m)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&f->prune.lock);
		while (!f->prune.wanted && !f->prune.stop)
			pthread_cond_wait(&f->prune.wake, &f->prune.lock);
		f->prune.wanted = 0;
		pthread_mutex_unlock(&f->prune.lock);
		if (f->prune.stop)
			break;

		/* Down to three quarters of the limit, so rounds stay rare. */
		ngfs_lock(&f->nf);
		want = f->nf.nnodes > limit - limit / 4 ? f->nf.nnodes - (limit - limit / 4) : 0;
		n = ngfs_nodes_pick(&f->nf, m->ids, want < PRUNE_BATCH ? want : PRUNE_BATCH);
		ngfs_unlock(&f->nf);
		if (!n)
			continue;
		m->count = n;
		m->padding = 0;
		m->spare = 0;
		if (wire_notify(f, NOTIFY_PRUNE, m, offsetof(struct prune_msg, ids) + n * 8))
			front_count(&f->counters.notify_errors, 1);
		else
			front_count(&f->counters.pruned, n);
		/* FORGETs arrive asynchronously; then look again if still over. */
		nanosleep(&pause, NULL);
		ngfs_lock(&f->nf);
		if (f->nf.nnodes > limit)
			nodes_over(&f->nf);
		ngfs_unlock(&f->nf);
	}
	free(m);
	return NULL;
}

void front_prune_start(struct front *f, unsigned int proto_minor)
{
	size_t limit = f->cfg->node_cache;

	/* 7.99 is the iomap RFC's placeholder version: its notify 9 is not PRUNE. */
	if (!limit || proto_minor < 45 || proto_minor >= 99 || f->iomap.on || f->prune.started)
		return;
	pthread_mutex_init(&f->prune.lock, NULL);
	pthread_cond_init(&f->prune.wake, NULL);
	if (pthread_create(&f->prune.thread, NULL, prune_thread, f))
		return;
	f->prune.started = 1;
	ngfs_lock(&f->nf);
	f->nf.nodes_over = nodes_over;
	f->nf.node_limit = limit;
	if (f->nf.nnodes > limit)
		nodes_over(&f->nf);
	ngfs_unlock(&f->nf);
}

/* Before the node table goes (DESTROY) or the session ends. */
void front_prune_stop(struct front *f)
{
	if (!f->prune.started)
		return;
	pthread_mutex_lock(&f->prune.lock);
	f->prune.stop = 1;
	pthread_cond_signal(&f->prune.wake);
	pthread_mutex_unlock(&f->prune.lock);
	pthread_join(f->prune.thread, NULL);
	f->prune.started = 0;
	ngfs_lock(&f->nf);
	f->nf.nodes_over = NULL;
	f->nf.node_limit = 0;
	ngfs_unlock(&f->nf);
}
