/*
 * cache.h: the kernel's per-inode iomap mapping cache (spec 2.10): a read
 * fork and an optional write fork, each a set of non-overlapping mappings.
 */
#ifndef IOMAP_CACHE_H
#define IOMAP_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* One mapping, as struct iomap holds it. */
struct kmap {
	uint64_t offset, length, addr;
	uint16_t type, flags;
	uint32_t dev;
};

struct fork {
	struct kmap *v;
	size_t n, cap;
};

struct mcache {
	int enabled;		/* an UPSERT happened (FUSE_I_IOMAP_CACHE) */
	int has_wr;		/* the write fork exists */
	struct fork rd, wr;
	uint64_t seq;		/* bumped on every change (validity cookie) */
};

/* Replace [m->offset, +length) in f with m. */
void fork_upsert(struct fork *f, const struct kmap *m);
/* Remove [off, off+len) from f (len UINT64_MAX: to EOF), splitting edges. */
void fork_remove(struct fork *f, uint64_t off, uint64_t len);
/* The mapping containing pos, or NULL. */
const struct kmap *fork_find(const struct fork *f, uint64_t pos);
void mcache_inval(struct mcache *mc, uint64_t off, uint64_t len);
void mcache_free(struct mcache *mc);

#endif
