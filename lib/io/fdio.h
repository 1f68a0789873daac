/*
 * fdio: libext2fs io_manager over an already-open file descriptor.
 *
 * All metadata I/O of the filesystem passes through here, which makes it the
 * one choke point where a journal can later hook in.  The descriptor is owned
 * by the caller: the manager never opens a path and never closes the fd, so a
 * sandboxed service can hand us a device it opened elsewhere.  (Debian's
 * 1.47.0 "unixfd" manager guesses the access mode wrongly and closes the fd
 * itself, which is why this exists.)
 *
 * No userspace block cache: the kernel page cache of the device does that job
 * and the file data path (pread/pwrite on the same fd) stays coherent with
 * metadata without any invalidation protocol.
 */
#ifndef NG_FDIO_H
#define NG_FDIO_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>

extern io_manager fdio_io_manager;

/* Register an fd under a name that ext2fs_open2() can be given ("fdio:N"). */
struct fdio_target {
	int fd;
	int writable;		/* fd was opened O_RDWR */
	int direct;		/* fd was opened O_DIRECT: bounce unaligned I/O */
	uint64_t offset;	/* byte offset of the filesystem in the file */
	int image_fd;		/* the image behind a loop device, or -1: discards
				   punch holes there (the kernel's exclusive claim
				   of a mounted block device refuses BLKDISCARD) */
};
void fdio_name(const struct fdio_target *t, char *buf, size_t len);

/* Byte-granular device access for the file data path (same fd, same offset). */
int fdio_pread(io_channel ch, void *buf, size_t len, uint64_t off);
int fdio_pwrite(io_channel ch, const void *buf, size_t len, uint64_t off);
int fdio_zero(io_channel ch, uint64_t off, uint64_t len);
/*
 * Device bytes [off, off+len) are handed to a writer that bypasses us (the
 * kernel, in iomap mode): a block the journal hook holds there goes to the
 * device first and leaves the transaction, as before fdio_pwrite.
 */
int fdio_data_claim(io_channel ch, uint64_t off, uint64_t len);	/* under the lock */
int fdio_sync(io_channel ch);
/* Start reading [off, off+len) into the page cache; no wait, no error (a hint). */
void fdio_prefetch(io_channel ch, uint64_t off, uint64_t len);
int fdio_set_direct(io_channel ch);
/* Classic mode on an image behind a loop device: do I/O on the image itself. */
int fdio_use_image(io_channel ch);
int fdio_fd(io_channel ch);
/* Bytes of the device after the offset: no read, write or discard goes past them. */
uint64_t fdio_size(io_channel ch);

/*
 * Journal hook: while set, every metadata write libext2fs issues (write_blk,
 * write_blk64, write_byte, in any block size) is handed to meta_write in
 * units of BLOCK_SIZE instead of reaching the device (partial blocks are
 * read-modify-written), and metadata reads see those blocks (meta_read
 * returns 1 when it filled BUF), fdio_pread too.  Data writes
 * (fdio_pwrite/zero) and discards are not diverted: ordered mode writes
 * data in place.
 * fdio knows nothing about the journal; lib/journal sets the hook.
 */
struct fdio_hook {
	unsigned int block_size;
	int (*meta_write)(void *ctx, uint64_t blk, const void *buf);	/* errno */
	int (*meta_read)(void *ctx, uint64_t blk, void *buf);
	/*
	 * The data path is about to write device bytes [off, off+len): a block
	 * the hook holds there became file data (libext2fs zeroes a block it
	 * allocates through write_blk64): it must reach the device first and
	 * leave the transaction.  Returns errno.
	 */
	int (*data_write)(void *ctx, uint64_t off, uint64_t len);
	int (*held)(void *ctx, uint64_t blk);	/* the hook has this block's image */
	void *ctx;
};
void fdio_set_hook(io_channel ch, const struct fdio_hook *hook);	/* NULL: off */
/* File data outside the filesystem lock; fdio_data_claim and held need the lock. */
int fdio_data_pread(io_channel ch, void *buf, size_t len, uint64_t off);
int fdio_data_pwrite(io_channel ch, const void *buf, size_t len, uint64_t off);
/* For O_DIRECT file reads: the device without its page cache when aligned. */
int fdio_data_pread_direct(io_channel ch, void *buf, size_t len, uint64_t off);
int fdio_data_held(io_channel ch, uint64_t off, size_t len);
/* One block of BLOCK_SIZE bytes to the device, bypassing the hook. */
int fdio_raw_write(io_channel ch, uint64_t blk, unsigned int block_size, const void *buf);
/* fdio_raw_write of a checkpoint: the O_DIRECT metadata cache keeps the image. */
int fdio_home_write(io_channel ch, uint64_t blk, unsigned int block_size, const void *buf);
int fdio_raw_read(io_channel ch, uint64_t blk, unsigned int block_size, void *buf);

#endif
