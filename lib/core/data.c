/*
 * data.c: file contents.  Every transfer is two steps: ask fmap.c where the
 * range lives, then move the bytes with pread/pwrite on the device.  Inline
 * data (bytes kept inside the inode) is the one exception and goes through
 * libext2fs' file API.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "array.h"
#include "core/ngfs.h"

static uint64_t dev_offset(struct ngfs *nf, const struct ngfs_map *map, uint64_t pos)
{
	uint64_t bs = nf->fs->blocksize;

	return map->pblk * bs + (pos - map->lblk * bs);
}

/* What a read may return: 0 with *len 0 at or past the end. */
static int read_checks(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		       size_t *len, off_t off)
{
	uint64_t size;
	int err;

	if ((err = ngfs_check_alive(nf)) || (err = ngfs_read_inode(nf, ino, inode)))
		return err;
	if (LINUX_S_ISDIR(inode->i_mode))
		return EISDIR;
	size = EXT2_I_SIZE(inode);
	if (off < 0 || (uint64_t)off >= size)
		*len = 0;
	else if (*len > size - off)
		*len = size - off;
	return 0;
}

static int add_seg(struct ngfs_io *io, uint64_t dev, size_t pos, size_t len, int zero)
{
	if (ng_array_room(&io->seg, &io->cap, io->nseg, sizeof(*io->seg), 8))
		return ENOMEM;
	io->seg[io->nseg++] = (struct ngfs_seg){ .dev = dev, .pos = pos, .len = len,
						 .zero = zero };
	return 0;
}

/*
 * The runs of [off, off+len) of a block-mapped file as device segments (or
 * zeros); *all_data: every run is written data.  *held: the journal's
 * running transaction holds a block there (not on the device yet).
 */
static int map_segments(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			size_t len, off_t off, struct ngfs_io *io, int *all_data, int *held)
{
	uint64_t bs = nf->fs->blocksize, pos, end = off + len;
	int err = 0;

	*all_data = 1;
	*held = 0;
	for (pos = off; pos < end;) {
		struct ngfs_map map;
		blk64_t lblk = pos / bs;
		uint64_t run_end;
		int data;

		err = ngfs_fmap_get(nf, ino, inode, lblk, (end - 1) / bs - lblk + 1, &map);
		if (err)
			break;
		run_end = (map.lblk + map.len) * bs;
		if (run_end > end)
			run_end = end;
		data = map.type == NGFS_MAP_MAPPED;
		*all_data &= data;
		if (data && fdio_data_held(nf->fs->io, dev_offset(nf, &map, pos), run_end - pos))
			*held = 1;
		if ((err = add_seg(io, data ? dev_offset(nf, &map, pos) : 0, pos - off,
				   run_end - pos, !data)))
			break;
		pos = run_end;
	}
	return err;
}

/*
 * A read whose bytes move without the lock: checks, atime and the map now
 * (the inode counted in flight, inflight.c), then ngfs_io_transfer()
 * unlocked, then ngfs_io_finish() locked.  A read that cannot (inline
 * data, blocks of the running transaction) is done here: io->nseg is 0.
 */
int ngfs_read_start(struct ngfs *nf, ext2_ino_t ino, char *buf, size_t len, off_t off,
		    struct ngfs_io *io)
{
	struct ext2_inode_large inode;
	int err, all_data, held;

	memset(io, 0, sizeof(*io));
	io->ino = ino;
	if ((err = ngfs_io_enter(nf, ino)))
		return err;
	io->entered = 1;
	if ((err = read_checks(nf, ino, &inode, &len, off)) || !len)
		goto locked;
	if (ngfs_inode_inline(&inode))
		goto locked;
	err = map_segments(nf, ino, &inode, len, off, io, &all_data, &held);
	if (err || held)
		goto locked;
	io->len = len;
	ngfs_accessed(nf, ino, &inode);
	return 0;
locked:
	io->nseg = 0;
	ngfs_io_leave(nf, ino);
	io->entered = 0;
	if (err)
		return err;
	return ngfs_read(nf, ino, buf, len, off, &io->done);
}

#ifdef NG_TEST_HOOKS
/*
 * NG_TEST_TRANSFER_DELAY_US (test build tests/crash/fuse2fs-crashrec only,
 * for tests/cases/io-truncate-race): every unlocked transfer waits that
 * long first, which widens the window a missing drain would leave open
 * from microseconds to a sure hit.  Production binaries have no such knob.
 */
static long transfer_delay_us(void)
{
	static long delay = -1;
	long d = __atomic_load_n(&delay, __ATOMIC_RELAXED);

	if (d < 0) {
		const char *s = getenv("NG_TEST_TRANSFER_DELAY_US");
		d = s ? atol(s) : 0;
		__atomic_store_n(&delay, d, __ATOMIC_RELAXED);
	}
	return d;
}
#else
static long transfer_delay_us(void)
{
	return 0;
}
#endif

/* Unlocked: move the bytes of the segments; io->done counts the bytes moved. */
int ngfs_io_transfer(struct ngfs *nf, struct ngfs_io *io, char *rbuf, const char *wbuf)
{
	size_t i;
	int err = 0;

	if (transfer_delay_us())
		usleep(transfer_delay_us());
	for (i = 0; i < io->nseg && !err; i++) {
		struct ngfs_seg *s = &io->seg[i];

		if (rbuf && s->zero)
			memset(rbuf + s->pos, 0, s->len);
		else if (rbuf && io->direct)
			err = fdio_data_pread_direct(nf->fs->io, rbuf + s->pos, s->len, s->dev);
		else if (rbuf)
			err = fdio_data_pread(nf->fs->io, rbuf + s->pos, s->len, s->dev);
		else
			err = fdio_data_pwrite(nf->fs->io, wbuf + s->pos, s->len, s->dev);
		if (!err)
			io->done += s->len;
	}
	return err;
}

/* Locked again: the inode leaves the in-flight table; a short transfer is still one. */
int ngfs_io_finish(struct ngfs *nf, struct ngfs_io *io, int err)
{
	if (io->entered)
		ngfs_io_leave(nf, io->ino);
	io->entered = 0;
	free(io->seg);
	io->seg = NULL;
	io->nseg = io->cap = 0;
	if (io->done)
		return 0;
	return err ? ngfs_errno(nf, err, io->write ? "write" : "read", io->ino) : 0;
}

int ngfs_read(struct ngfs *nf, ext2_ino_t ino, char *buf, size_t len, off_t off,
	      size_t *done)
{
	struct ext2_inode_large inode;
	uint64_t bs = nf->fs->blocksize, pos, end;
	int err;

	*done = 0;
	if ((err = read_checks(nf, ino, &inode, &len, off)) || !len)
		return err;
	if (ngfs_inode_inline(&inode)) {
		err = ngfs_inline_read(nf, ino, &inode, buf, len, off, done);
		goto out;
	}
	end = off + len;
	for (pos = off; pos < end;) {
		struct ngfs_map map;
		blk64_t lblk = pos / bs;
		uint64_t run_end;

		err = ngfs_fmap_get(nf, ino, &inode, lblk, (end - 1) / bs - lblk + 1, &map);
		if (err)
			break;
		run_end = (map.lblk + map.len) * bs;
		if (run_end > end)
			run_end = end;
		if (map.type == NGFS_MAP_MAPPED)
			err = fdio_pread(nf->fs->io, buf + (pos - off), run_end - pos,
					 dev_offset(nf, &map, pos));
		else
			memset(buf + (pos - off), 0, run_end - pos);
		if (err) {
			err = ngfs_errno(nf, err, "read", ino);
			break;
		}
		pos = run_end;
	}
	*done = pos - off;
out:
	if (*done)
		err = 0;	/* a short read is still a read */
	if (!err)
		ngfs_accessed(nf, ino, &inode);	/* like touch_atime: never fails a read */
	return err;
}

/* Write one mapped run; blocks that were holes or unwritten get their gaps zeroed. */
static int write_run(struct ngfs *nf, const struct ngfs_map *map, int fresh,
		     const char *buf, uint64_t pos, uint64_t run_end)
{
	uint64_t bs = nf->fs->blocksize;
	int err;

	if (fresh && pos % bs &&
	    (err = fdio_zero(nf->fs->io, dev_offset(nf, map, pos - pos % bs), pos % bs)))
		return err;
	if ((err = fdio_pwrite(nf->fs->io, buf, run_end - pos, dev_offset(nf, map, pos))))
		return err;
	if (fresh && run_end % bs)
		err = fdio_zero(nf->fs->io, dev_offset(nf, map, run_end), bs - run_end % bs);
	return err;
}

int ngfs_write(struct ngfs *nf, ext2_ino_t ino, const char *buf, size_t len,
	       off_t off, int append, size_t *done)
{
	struct ext2_inode_large inode;
	int err;

	*done = 0;
	if ((err = ngfs_check_writable(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (!LINUX_S_ISREG(inode.i_mode))
		return LINUX_S_ISDIR(inode.i_mode) ? EISDIR : EINVAL;
	if (inode.i_flags & EXT2_IMMUTABLE_FL)
		return EPERM;
	if ((inode.i_flags & EXT2_APPEND_FL) && !append)
		return EPERM;
	if (append)
		off = EXT2_I_SIZE(&inode);
	if (off < 0)
		return EINVAL;
	if ((uint64_t)off >= nf->max_file_size)
		return EFBIG;
	if (len > nf->max_file_size - off)
		len = nf->max_file_size - off;
	if (!len)
		return 0;

	/* An inline write that does not fit moves the file to blocks first. */
	if (ngfs_inode_inline(&inode) &&
	    (err = ngfs_inline_write(nf, ino, &inode, buf, len, off, done)))
		return err;
	if (!*done && (err = ngfs_write_blocks(nf, ino, &inode, buf, len, off, done)) &&
	    !*done)
		return err;
	if ((uint64_t)off + *done > EXT2_I_SIZE(&inode) &&
	    (err = ngfs_set_size(nf, &inode, off + *done)))
		return err;
	ngfs_touch(nf, &inode, 1);
	nf->dirty = 1;
	return ngfs_write_inode(nf, ino, &inode);
}

/*
 * A write whose bytes move without the lock, when every block it touches
 * already holds the file's data inside its size: mtime/ctime and the
 * journal's claim on those blocks now, the bytes by ngfs_io_transfer()
 * unlocked, ngfs_io_finish() locked.  Anything else (allocation,
 * unwritten blocks, growth, O_APPEND, inline data) is written here under
 * the lock as before: io->nseg is 0 and io->done says what was written.
 */
int ngfs_write_start(struct ngfs *nf, ext2_ino_t ino, const char *buf, size_t len,
		     off_t off, int append, struct ngfs_io *io)
{
	struct ext2_inode_large inode;
	int err, all_data, held;
	size_t i;

	memset(io, 0, sizeof(*io));
	io->ino = ino;
	io->write = 1;
	if (append || off < 0 || !len)
		goto locked;
	if ((err = ngfs_io_enter(nf, ino)))
		return err;
	io->entered = 1;
	if ((err = ngfs_check_writable(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		goto out;
	if (!LINUX_S_ISREG(inode.i_mode) || ngfs_inode_inline(&inode) ||
	    (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL)) ||
	    (uint64_t)off + len > EXT2_I_SIZE(&inode) || (uint64_t)off + len < (uint64_t)off)
		goto out;
	if ((err = map_segments(nf, ino, &inode, len, off, io, &all_data, &held)) || !all_data)
		goto out;
	/* A block the transaction holds goes to the device before the data (fdio.c). */
	for (i = 0; i < io->nseg; i++)
		if ((err = fdio_data_claim(nf->fs->io, io->seg[i].dev, io->seg[i].len)))
			goto out;
	ngfs_touch(nf, &inode, 1);
	nf->dirty = 1;
	if ((err = ngfs_write_inode(nf, ino, &inode)))
		goto out;
	io->len = len;
	return 0;
out:
	io->nseg = 0;
	free(io->seg);
	io->seg = NULL;
	ngfs_io_leave(nf, ino);
	io->entered = 0;
	if (err)
		return err;
locked:
	return ngfs_write(nf, ino, buf, len, off, append, &io->done);
}

/*
 * Write to a block-mapped or extent-mapped file, allocating holes; no size
 * or time updates.  A short write sets *done and returns the error.
 */
int ngfs_write_blocks(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		      const char *buf, size_t len, off_t off, size_t *done)
{
	uint64_t bs = nf->fs->blocksize, pos, end;
	/* Blocks allocated by this call hold no data yet, even once mapped. */
	blk64_t fresh_start = 0, fresh_end = 0;
	int err = 0;

	end = off + len;
	for (pos = off; pos < end;) {
		struct ngfs_map map;
		blk64_t lblk = pos / bs, want = (end - 1) / bs - lblk + 1;
		uint64_t run_end;
		int fresh = 0;

		if ((err = ngfs_fmap_get(nf, ino, inode, lblk, want, &map)))
			break;
		if (map.type == NGFS_MAP_MAPPED && lblk >= fresh_start && lblk < fresh_end) {
			fresh = 1;
			if (map.len > fresh_end - lblk)
				map.len = fresh_end - lblk;
		} else if (map.type == NGFS_MAP_HOLE) {
			blk64_t grant = ngfs_space_grant(nf, map.len);

			if (!grant) {
				err = ENOSPC;
				break;
			}
			if ((err = ngfs_fmap_alloc(nf, ino, inode, lblk, grant, 0)) ||
			    (err = ngfs_fmap_get(nf, ino, inode, lblk, grant, &map)) ||
			    (map.type == NGFS_MAP_HOLE && (err = ENOSPC))) {
				/* Nothing was written here: give back what was allocated. */
				ngfs_fmap_punch(nf, ino, inode, lblk, grant);
				break;
			}
			fresh = 1;
			fresh_start = lblk;
			fresh_end = lblk + grant;
		} else if (map.type == NGFS_MAP_UNWRITTEN) {
			fresh = 1;
		}
		run_end = (map.lblk + map.len) * bs;
		if (run_end > end)
			run_end = end;
		if ((err = write_run(nf, &map, fresh, buf + (pos - off), pos, run_end))) {
			err = ngfs_errno(nf, err, "write", ino);
			if (fresh && map.type == NGFS_MAP_MAPPED)
				ngfs_fmap_punch(nf, ino, inode, lblk, map.len);
			break;
		}
		if (map.type == NGFS_MAP_UNWRITTEN &&
		    (err = ngfs_fmap_mark_written(nf, ino, inode, lblk,
						  (run_end + bs - 1) / bs - lblk)))
			break;
		pos = run_end;
	}
	*done = pos - off;
	return err;
}

/* Zero [off, off+len) inside one block, if that block holds written data. */
static int zero_partial(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			uint64_t off, uint64_t len)
{
	struct ngfs_map map;
	int err;

	if (!len)
		return 0;
	err = ngfs_fmap_get(nf, ino, inode, off / nf->fs->blocksize, 1, &map);
	if (err || map.type != NGFS_MAP_MAPPED)
		return err;
	err = fdio_zero(nf->fs->io, dev_offset(nf, &map, off), len);
	return err ? ngfs_errno(nf, err, "zero", ino) : 0;
}

int ngfs_truncate(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		  uint64_t size)
{
	uint64_t bs = nf->fs->blocksize, old = EXT2_I_SIZE(inode);
	int err;

	if (size > nf->max_file_size)
		return EFBIG;
	/*
	 * Transfers mapped before the blocks go must end first; the callers
	 * have not changed their copy of the inode yet, so reading it again
	 * after the wait (other verbs ran) is all it takes.
	 */
	if (ngfs_io_drain(nf, ino) && (err = ngfs_read_inode(nf, ino, inode)))
		return err;
	old = EXT2_I_SIZE(inode);
	/* Inline files shrink in place; growing past the inode moves them to blocks. */
	if (ngfs_inode_inline(inode) && (err = ngfs_inline_truncate(nf, ino, inode, size)))
		return err;
	if (!ngfs_inode_inline(inode) && size < old) {
		if (size % bs && (err = zero_partial(nf, ino, inode, size, bs - size % bs)))
			return err;
		if ((err = ngfs_write_inode(nf, ino, inode)) ||
		    (err = ngfs_punch_tail(nf, ino, inode, (size + bs - 1) / bs, size)))
			return err;
	}
	if ((err = ngfs_set_size(nf, inode, size)))
		return err;
	nf->dirty = 1;
	return 0;
}

static int punch_range(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		       uint64_t off, uint64_t end)
{
	uint64_t bs = nf->fs->blocksize;
	uint64_t first_full = (off + bs - 1) / bs, end_full = end / bs;
	int err;

	if (first_full > end_full) {	/* inside a single block */
		return zero_partial(nf, ino, inode, off, end - off);
	}
	if ((err = zero_partial(nf, ino, inode, off, first_full * bs - off)) ||
	    (err = zero_partial(nf, ino, inode, end_full * bs, end - end_full * bs)))
		return err;
	if (end_full > first_full &&
	    ((err = ngfs_write_inode(nf, ino, inode)) ||
	     (err = ngfs_fmap_punch(nf, ino, inode, first_full, end_full - first_full))))
		return err;
	return 0;
}

int ngfs_fallocate(struct ngfs *nf, ext2_ino_t ino, int mode, off_t off, off_t len)
{
	struct ext2_inode_large inode;
	uint64_t bs = nf->fs->blocksize, end, size;
	int err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && (mode & FALLOC_FL_ZERO_RANGE))
		return EOPNOTSUPP;
	if (off < 0 || len <= 0)
		return EINVAL;
	ngfs_io_drain(nf, ino);	/* punch and zero range free blocks: inflight.c */
	if ((err = ngfs_check_writable(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (!LINUX_S_ISREG(inode.i_mode))
		return LINUX_S_ISDIR(inode.i_mode) ? EISDIR : ENODEV;
	if (inode.i_flags & EXT2_IMMUTABLE_FL)
		return EPERM;
	if ((inode.i_flags & EXT2_APPEND_FL) && (mode & ~FALLOC_FL_KEEP_SIZE))
		return EPERM;
	end = (uint64_t)off + len;
	if (end > nf->max_file_size || end < (uint64_t)off)
		return EFBIG;
	if ((err = ngfs_inline_expand(nf, ino, &inode)))
		return err;
	size = EXT2_I_SIZE(&inode);

	if (mode & FALLOC_FL_PUNCH_HOLE) {
		if ((uint64_t)off >= size)
			return 0;
		if (end > size)
			end = size;
		err = punch_range(nf, ino, &inode, off, end);
	} else {
		/* Like the kernel, unwritten extents need an extent-mapped file. */
		if (!ngfs_inode_extents(&inode))
			return EOPNOTSUPP;
		if (mode & FALLOC_FL_ZERO_RANGE) {
			uint64_t rend = end < size ? end : size;
			if ((uint64_t)off < rend &&
			    (err = punch_range(nf, ino, &inode, off, rend)))
				return err;
		}
		blk64_t nblocks = (end + bs - 1) / bs - off / bs;

		if (ngfs_space_grant(nf, nblocks) < nblocks)
			return ENOSPC;
		err = ngfs_fmap_alloc(nf, ino, &inode, off / bs, nblocks, 1);
		if (err)
			return err;
		if (!(mode & FALLOC_FL_KEEP_SIZE) && end > size &&
		    (err = ngfs_set_size(nf, &inode, end)))
			return err;
	}
	if (err)
		return err;
	ngfs_touch(nf, &inode, 1);
	nf->dirty = 1;
	return ngfs_write_inode(nf, ino, &inode);
}

int ngfs_seek(struct ngfs *nf, ext2_ino_t ino, off_t off, int whence, off_t *res)
{
	struct ext2_inode_large inode;
	uint64_t bs = nf->fs->blocksize, size, pos;
	int err;

	if ((err = ngfs_check_alive(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	size = EXT2_I_SIZE(&inode);
	if (off < 0 || (uint64_t)off >= size)
		return ENXIO;
	if (ngfs_inode_inline(&inode)) {
		*res = whence == SEEK_DATA ? off : (off_t)size;
		return 0;
	}
	for (pos = off; pos < size;) {
		struct ngfs_map map;
		blk64_t lblk = pos / bs;
		int data;

		err = ngfs_fmap_get(nf, ino, &inode, lblk, (size - 1) / bs - lblk + 1, &map);
		if (err)
			return err;
		/* Unwritten extents read as zeros: they count as holes, as in ext4. */
		data = map.type == NGFS_MAP_MAPPED;
		if (data == (whence == SEEK_DATA)) {
			*res = pos;
			return 0;
		}
		pos = (map.lblk + map.len) * bs;
	}
	if (whence == SEEK_DATA)
		return ENXIO;
	*res = size;
	return 0;
}

int ngfs_copy_range(struct ngfs *nf, ext2_ino_t in, off_t off_in, ext2_ino_t out,
		    off_t off_out, size_t len, size_t *done)
{
	size_t chunk = 1 << 20, got, put;
	char *buf;
	int err = 0;

	*done = 0;
	buf = malloc(chunk);
	if (!buf)
		return ENOMEM;
	while (*done < len) {
		size_t n = len - *done < chunk ? len - *done : chunk;
		if ((err = ngfs_read(nf, in, buf, n, off_in + *done, &got)) || !got)
			break;
		if ((err = ngfs_write(nf, out, buf, got, off_out + *done, 0, &put)))
			break;
		*done += put;
		if (put < got)
			break;
	}
	free(buf);
	return *done ? 0 : err;
}

int ngfs_bmap(struct ngfs *nf, ext2_ino_t ino, uint64_t lblk, uint64_t *pblk)
{
	struct ext2_inode_large inode;
	struct ngfs_map map;
	int err;

	if ((err = ngfs_check_alive(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (ngfs_inode_inline(&inode)) {
		*pblk = 0;
		return 0;
	}
	if ((err = ngfs_fmap_get(nf, ino, &inode, lblk, 1, &map)))
		return err;
	*pblk = map.type == NGFS_MAP_MAPPED ? map.pblk : 0;
	return 0;
}

/* For the I/O counters: does this file keep its bytes in the inode? */
int ngfs_is_inline(struct ngfs *nf, ext2_ino_t ino)
{
	struct ext2_inode_large inode;

	return !ngfs_read_inode(nf, ino, &inode) && ngfs_inode_inline(&inode);
}
