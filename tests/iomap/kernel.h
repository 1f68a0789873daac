/*
 * kernel.h: the kernel's side of a FUSE iomap connection: negotiated state,
 * in-core inodes (i_size, blocksize, mapping cache, dirty pagecache) and
 * the registered block devices.
 */
#ifndef IOMAP_KERNEL_H
#define IOMAP_KERNEL_H

#include <stdint.h>
#include <stdio.h>

#include "cache.h"
#include "wire.h"

#define PAGE 4096u
#define MAXDEV 8

struct dirty {
	uint64_t blk;
	uint8_t *buf;
};

struct kinode {
	uint64_t nodeid, ino;
	uint32_t mode, attr_flags, blksize;
	uint64_t size;			/* in-core i_size */
	int fileio, directio;		/* iomap modes fixed at instantiation */
	uint64_t fh;
	int has_fh;
	uint64_t nlookup;
	struct mcache mc;
	struct dirty *dirty;		/* dirty pagecache blocks, sorted by blk */
	size_t ndirty, capdirty;
	char name[64];
};

struct kdev {
	uint32_t id;
	int fd;
	uint64_t size;
	unsigned maj, min;
	char path[96];
};

struct kernel {
	struct conn c;
	const char *image;
	/* what we offer, what we got */
	int offer_iomap;
	int iomap, directio, fileio;
	uint32_t init_minor, init_flags, init_flags2;
	struct w_iomap_config_out cfg;
	int config_enosys;
	uint32_t blocksize;		/* sb->s_blocksize */
	uint64_t maxbytes;		/* sb->s_maxbytes */
	struct kinode **inodes;
	size_t ninodes;
	struct kdev devs[MAXDEV];
	int ndev;
	char devfile[256];
	/* static metadata of the image (fscheck.c), one bit per fs block */
	uint8_t *meta;
	uint64_t fs_blocks;
	uint32_t fs_blocksize;
	/* mapped ranges seen, for the after-run check */
	FILE *record;
};

struct kinode *k_inode(struct kernel *k, uint64_t nodeid);
/* Start the daemon, INIT (offering iomap if k->offer_iomap), CONFIG, devices. */
void k_start(struct kernel *k, const char *fuse2fs, const char *shim, const char *opts);
/* INIT only: returns the INIT error (for the "daemon must fail" case). */
int k_init(struct kernel *k);
/* SYNCFS, DESTROY, close; the daemon's exit status. */
int k_shutdown(struct kernel *k);
void k_free(struct kernel *k);

struct kinode *k_lookup(struct kernel *k, uint64_t parent, const char *name, int *err);
struct kinode *k_create(struct kernel *k, uint64_t parent, const char *name, uint32_t mode);
struct kinode *k_mkdir(struct kernel *k, uint64_t parent, const char *name);
void k_getattr(struct kernel *k, struct kinode *ip, struct fuse_attr *out);
void k_check_attr(struct kernel *k, uint64_t nodeid, const struct fuse_attr *a, const char *what);
int k_setattr_size(struct kernel *k, struct kinode *ip, uint64_t size);
void k_push_times(struct kernel *k, struct kinode *ip);
void k_readdirplus(struct kernel *k, uint64_t dir, int *nentries);
void k_statx(struct kernel *k, struct kinode *ip);
void k_syncfs(struct kernel *k);
void k_fsync(struct kernel *k, struct kinode *ip);

/*
 * FUSE_IOMAP_BEGIN as fuse_iomap_begin does it: the mapping cache first,
 * then the upcall; every reply validated as fuse_iomap_begin_validate does
 * (a reply the kernel would turn into EIO fails the test).  Returns 0 or the
 * daemon's -errno.  srcmap->length == 0 means "no srcmap".
 */
int k_begin(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos, uint64_t count,
	    struct kmap *iomap, struct kmap *srcmap);
/* The raw upcall without any cache or validation (bad-input tests). */
int k_begin_raw(struct kernel *k, uint64_t nodeid, uint64_t attr_ino, uint32_t op,
		uint64_t pos, uint64_t count, struct w_iomap_begin_out *out);
/* Validate a BEGIN reply; NULL if fine, else why. */
const char *k_validate_begin(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos,
			     const struct w_iomap_begin_out *o);
int k_end(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos, uint64_t count,
	  int64_t written, const struct kmap *iomap);
/* IOEND as fuse_iomap_ioend: adds APPEND, sends only when needed, then
 * updates i_size and invalidates the cache on success. */
int k_ioend(struct kernel *k, struct kinode *ip, uint16_t flags, int error, uint64_t pos,
	    uint64_t written);
int k_ioend_raw(struct kernel *k, uint64_t nodeid, uint64_t attr_ino, uint16_t flags,
		int error, uint64_t pos, uint64_t written);

/* Block I/O at a mapping, like a bio: aligned, O_DIRECT. */
void dev_io(struct kernel *k, const struct kmap *m, uint64_t file_pos, void *buf, size_t len,
	    int write);
const char *typename(uint16_t t);
uint32_t ibs(const struct kinode *ip);

/* fscheck.c */
void meta_load(struct kernel *k);
int meta_overlaps(struct kernel *k, uint64_t addr, uint64_t len, char *why, size_t whylen);
int fscheck_run(const char *image, const char *record);
void record_final(struct kernel *k);

#endif
