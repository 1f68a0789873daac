/*
 * dcache.c: name -> inode maps for large directories.
 *
 * libext2fs has no hashed (dir_index) lookup: ext2fs_lookup reads the whole
 * directory.  For a directory of tens of thousands of entries that makes a
 * tree walk quadratic, so the first lookup in a large directory reads it
 * once into a hash table, and every change this daemon makes to that
 * directory's entries updates the table (namei.c, create.c, node.c).
 * The table also keeps the block of each name, so that dirblock.c can add
 * and remove names in one block instead of walking the directory.
 * Written by hand: libext2fs offers nothing similar.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ngfs.h"

#define DCACHE_DIRS 16
#define DCACHE_MIN_BLOCKS 4	/* smaller directories are read directly */

#define DC_NO_BLOCK ((uint32_t)-1)	/* entry added by libext2fs: block unknown */

struct dc_entry {
	struct dc_entry *next;
	ext2_ino_t ino;
	uint32_t lblk;		/* logical block of the directory holding it */
	char name[];
};

struct ngfs_dcache {
	ext2_ino_t dir;
	uint64_t used;		/* LRU stamp */
	size_t nbuckets, n;
	size_t holes;		/* names removed: room libext2fs may find before the end */
	struct dc_entry **b;
	struct ngfs_dcache *next;
};

static uint64_t hash(const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	while (len--)
		h = (h ^ (unsigned char)*name++) * 1099511628211ULL;
	return h;
}

static struct ngfs_dcache *find(struct ngfs *nf, ext2_ino_t dir)
{
	struct ngfs_dcache *d;

	for (d = nf->dcache; d; d = d->next)
		if (d->dir == dir)
			return d;
	return NULL;
}

static void dc_free(struct ngfs_dcache *d)
{
	size_t i;

	for (i = 0; i < d->nbuckets; i++) {
		while (d->b[i]) {
			struct dc_entry *e = d->b[i];
			d->b[i] = e->next;
			free(e);
		}
	}
	free(d->b);
	free(d);
}

static struct dc_entry **slot(struct ngfs_dcache *d, const char *name, size_t len)
{
	struct dc_entry **pp = &d->b[hash(name, len) % d->nbuckets];

	for (; *pp; pp = &(*pp)->next)
		if (strlen((*pp)->name) == len && !memcmp((*pp)->name, name, len))
			break;
	return pp;
}

static int dc_insert(struct ngfs_dcache *d, const char *name, size_t len, ext2_ino_t ino,
		     uint32_t lblk)
{
	struct dc_entry **pp, *e;

	if (d->n >= d->nbuckets * 2) {	/* grow: rehash into twice the buckets */
		size_t nb = d->nbuckets * 4, i;
		struct dc_entry **b = calloc(nb, sizeof(*b));
		if (!b)
			return ENOMEM;
		for (i = 0; i < d->nbuckets; i++) {
			while (d->b[i]) {
				e = d->b[i];
				d->b[i] = e->next;
				e->next = b[hash(e->name, strlen(e->name)) % nb];
				b[hash(e->name, strlen(e->name)) % nb] = e;
			}
		}
		free(d->b);
		d->b = b;
		d->nbuckets = nb;
	}
	pp = slot(d, name, len);
	if (*pp) {
		(*pp)->ino = ino;
		if (lblk != DC_NO_BLOCK)
			(*pp)->lblk = lblk;
		return 0;
	}
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return ENOMEM;
	memcpy(e->name, name, len);
	e->name[len] = 0;
	e->ino = ino;
	e->lblk = lblk;
	e->next = NULL;
	*pp = e;
	d->n++;
	return 0;
}

static int fill_cb(const char *name, size_t len, ext2_ino_t ino, blk64_t lblk, void *priv)
{
	return dc_insert(priv, name, len, ino, lblk < DC_NO_BLOCK ? lblk : DC_NO_BLOCK);
}

void ngfs_dcache_drop(struct ngfs *nf, ext2_ino_t dir)
{
	struct ngfs_dcache **pp;

	for (pp = &nf->dcache; *pp; pp = &(*pp)->next) {
		if ((*pp)->dir == dir) {
			struct ngfs_dcache *d = *pp;
			*pp = d->next;
			dc_free(d);
			return;
		}
	}
}

void ngfs_dcache_free(struct ngfs *nf)
{
	while (nf->dcache)
		ngfs_dcache_drop(nf, nf->dcache->dir);
}

/* Build the map of DIR, evicting the least recently used one if needed. */
static struct ngfs_dcache *build(struct ngfs *nf, ext2_ino_t dir)
{
	struct ngfs_dcache *d, *lru = NULL;
	size_t count = 0;

	for (d = nf->dcache; d; d = d->next, count++)
		if (!lru || d->used < lru->used)
			lru = d;
	if (count >= DCACHE_DIRS && lru)
		ngfs_dcache_drop(nf, lru->dir);
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->dir = dir;
	d->nbuckets = 256;
	d->b = calloc(d->nbuckets, sizeof(*d->b));
	if (!d->b || ngfs_dirblock_walk(nf, dir, fill_cb, d)) {
		free(d->b);
		d->b = NULL;
		d->nbuckets = 0;
		dc_free(d);
		return NULL;
	}
	d->next = nf->dcache;
	nf->dcache = d;
	return d;
}

/*
 * Returns 1 and sets *ino when the map knows the answer (0 = absent),
 * 0 when DIR is not mapped (small directory, or no memory).
 */
int ngfs_dcache_lookup(struct ngfs *nf, ext2_ino_t dir, uint64_t dir_size,
		       const char *name, ext2_ino_t *ino)
{
	struct ngfs_dcache *d = find(nf, dir);
	struct dc_entry *e;

	if (!d) {
		if (dir_size < DCACHE_MIN_BLOCKS * (uint64_t)nf->fs->blocksize)
			return 0;
		d = build(nf, dir);
		if (!d)
			return 0;
	}
	d->used = ++nf->dcache_clock;
	e = *slot(d, name, strlen(name));
	*ino = e ? e->ino : 0;
	return 1;
}

void ngfs_dcache_set(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	ngfs_dcache_set_at(nf, dir, name, ino, DC_NO_BLOCK);
}

/* As ngfs_dcache_set, for a name dirblock.c put into logical block LBLK. */
void ngfs_dcache_set_at(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			blk64_t lblk)
{
	struct ngfs_dcache *d = find(nf, dir);

	if (d && dc_insert(d, name, strlen(name), ino, lblk < DC_NO_BLOCK ? lblk : DC_NO_BLOCK))
		ngfs_dcache_drop(nf, dir);	/* no memory: forget it, stay correct */
}

/*
 * Whether a new name may go straight into DIR's last block: DIR is mapped
 * (large) and no name was removed since, which ext2fs_link would reuse.
 */
int ngfs_dcache_appendable(struct ngfs *nf, ext2_ino_t dir)
{
	struct ngfs_dcache *d = find(nf, dir);

	return d && !d->holes;
}

/* ext2fs_link added a name to DIR: it used a hole, or (FULL) found none. */
void ngfs_dcache_hole_used(struct ngfs *nf, ext2_ino_t dir, int full)
{
	struct ngfs_dcache *d = find(nf, dir);

	if (d && d->holes)
		d->holes = full ? 0 : d->holes - 1;
}

/* Returns 1 and sets *LBLK when the map knows which block holds NAME. */
int ngfs_dcache_where(struct ngfs *nf, ext2_ino_t dir, const char *name, blk64_t *lblk)
{
	struct ngfs_dcache *d = find(nf, dir);
	struct dc_entry *e;

	if (!d || !(e = *slot(d, name, strlen(name))) || e->lblk == DC_NO_BLOCK)
		return 0;
	*lblk = e->lblk;
	return 1;
}

void ngfs_dcache_remove(struct ngfs *nf, ext2_ino_t dir, const char *name)
{
	struct ngfs_dcache *d = find(nf, dir);
	struct dc_entry **pp, *e;

	if (!d)
		return;
	pp = slot(d, name, strlen(name));
	if ((e = *pp)) {
		*pp = e->next;
		free(e);
		d->n--;
		d->holes++;
	}
}
