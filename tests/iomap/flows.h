/*
 * flows.h: system calls as the kernel carries them out on an iomap inode
 * (spec 2.11): which upcalls, in which order, and the block I/O between.
 * On a non-iomap inode the classic FUSE_READ/FUSE_WRITE path is used.
 */
#ifndef IOMAP_FLOWS_H
#define IOMAP_FLOWS_H

#include "kernel.h"

#define FL_KEEP_SIZE	0x01
#define FL_PUNCH_HOLE	0x02
#define FL_ZERO_RANGE	0x10

void vfs_write(struct kernel *k, struct kinode *ip, uint64_t pos, const void *buf, size_t len);
/* O_DIRECT write: block-aligned goes direct, else ENOTBLK fallback (buffered + sync). */
void vfs_write_direct(struct kernel *k, struct kinode *ip, uint64_t pos, const void *buf,
		      size_t len);
size_t vfs_read(struct kernel *k, struct kinode *ip, uint64_t pos, void *buf, size_t len);
size_t vfs_read_direct(struct kernel *k, struct kinode *ip, uint64_t pos, void *buf, size_t len);
void vfs_truncate(struct kernel *k, struct kinode *ip, uint64_t size);
/* Returns 0 or the daemon's -errno for FUSE_FALLOCATE. */
int vfs_fallocate(struct kernel *k, struct kinode *ip, int mode, uint64_t off, uint64_t len);
/* Writeback of every dirty block (fsync without FUSE_FSYNC). */
void vfs_writeback(struct kernel *k, struct kinode *ip);
void vfs_fsync(struct kernel *k, struct kinode *ip);
size_t vfs_ndirty(const struct kinode *ip);
int vfs_block_dirty(const struct kinode *ip, uint64_t blk);

/* REPORT walk over [from, to): calls fn for every mapping (trimmed). */
typedef void (*report_fn)(void *ctx, const struct kmap *m);
void vfs_report(struct kernel *k, struct kinode *ip, uint64_t from, uint64_t to, report_fn fn,
		void *ctx);
/* lseek SEEK_DATA / SEEK_HOLE through REPORT; -ENXIO past the data. */
int64_t vfs_seek(struct kernel *k, struct kinode *ip, uint64_t off, int hole);

void *xalloc_aligned(size_t len);
/* bytes moved with FUSE_READ/FUSE_WRITE for INLINE mappings */
extern unsigned long long g_inline_rbytes, g_inline_wbytes;

#endif
