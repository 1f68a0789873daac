/*
 * ops_file.c: open files: open, create, read, write, release,
 * fsync, fallocate, lseek, copy_file_range, bmap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuse/front.h"

static int open_checks(fuse_req_t req, struct front *f, ext2_ino_t ino, int flags)
{
	struct ext2_inode_large inode;
	int acc = flags & O_ACCMODE, err;

	if ((err = ngfs_check_alive(&f->nf)) || (err = ngfs_read_inode(&f->nf, ino, &inode)))
		return err;
	if (acc == O_RDONLY && !(flags & O_TRUNC))
		return front_access(req, ino, R_OK);
	if ((err = ngfs_check_writable(&f->nf)))
		return err;
	if (inode.i_flags & EXT2_IMMUTABLE_FL)
		return EPERM;
	if ((inode.i_flags & EXT2_APPEND_FL) && (!(flags & O_APPEND) || (flags & O_TRUNC)))
		return EPERM;
	if ((err = front_access(req, ino, acc == O_RDWR ? R_OK | W_OK :
					   acc == O_WRONLY ? W_OK : R_OK)))
		return err;
	if ((flags & O_TRUNC) && LINUX_S_ISREG(inode.i_mode)) {
		struct timespec now;

		if ((err = ngfs_truncate(&f->nf, ino, &inode, 0)))
			return err;
		front_iomap_inval(f, ino);
		ngfs_now(&now);
		ngfs_set_time(&f->nf, &inode, NGFS_MTIME, &now);
		ngfs_set_time(&f->nf, &inode, NGFS_CTIME, &now);
		return ngfs_write_inode(&f->nf, ino, &inode);
	}
	return 0;
}

static int open_handle(struct front *f, ext2_ino_t ino, struct fuse_file_info *fi)
{
	struct front_file *fh = calloc(1, sizeof(*fh));
	struct ext2_inode_large inode;
	struct timespec now;

	if (!fh)
		return ENOMEM;
	fh->ino = ino;
	fh->append = !!(fi->flags & O_APPEND);
	fi->fh = (uintptr_t)fh;
	/*
	 * Every change to the file passes through this kernel, so its cached
	 * pages stay valid; but a read served from them never reaches us, and
	 * atime is ours to move.  When the next read must move it (a write
	 * since the last access under relatime; always under strictatime),
	 * the open drops the cache so that read comes here.
	 */
	ngfs_now(&now);
	fi->keep_cache = ngfs_read_inode(&f->nf, ino, &inode) ||
			 !ngfs_atime_due(&f->nf, &inode, &now);
	ngfs_node_open(&f->nf, ino);
	return 0;
}

void front_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	int err;

	front_lock(req);
	err = open_checks(req, f, ino_of(ino), fi->flags);
	if (!err)
		err = open_handle(f, ino_of(ino), fi);
	ngfs_unlock(&f->nf);
	if (err) {
		fuse_reply_err(req, err);
	} else if (fuse_reply_open(req, fi) == -ENOENT) {
		/* Interrupted: the kernel will never release this handle (req is gone). */
		ngfs_lock(&f->nf);
		ngfs_node_release(&f->nf, ino_of(ino));
		ngfs_unlock(&f->nf);
		free((struct front_file *)(uintptr_t)fi->fh);
	}
}

void front_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	struct fuse_entry_param e;
	struct ext2_inode_large inode;
	ext2_ino_t ino;
	int err;

	front_lock(req);
	err = front_new_node(req, parent, name, S_IFREG | (mode & 07777), 0, NULL, &ino);
	if (err == EEXIST && !(fi->flags & O_EXCL)) {
		/* Raced with another creator: open what is there. */
		err = ngfs_lookup_live(&f->nf, ino_of(parent), name, &ino, &inode);
		if (!err)
			err = open_checks(req, f, ino, fi->flags);
	}
	if (!err)
		err = front_entry(f, ino, &e);
	if (!err && (err = open_handle(f, ino, fi)))
		ngfs_node_forget(&f->nf, ino, 1);
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_create(req, &e, fi);
}

void front_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	struct ngfs_io io = { 0 };
	uint64_t calls;
	char *buf = NULL;
	/* Page-aligned, for O_DIRECT reads of the device (fdio_data_pread_direct). */
	int err = posix_memalign((void **)&buf, 4096, size ? size : 1) ? ENOMEM : 0;

	/* The bytes move with the lock dropped (ngfs_read_start). */
	front_lock(req);
	calls = f->nf.inline_io_calls;
	if (!err)
		err = ngfs_read_start(&f->nf, ino_of(ino), buf, size, off, &io);
	ngfs_unlock(&f->nf);
	if (!err && io.nseg) {
		io.direct = !!(fi->flags & O_DIRECT);
		err = ngfs_io_transfer(&f->nf, &io, buf, NULL);
		front_lock(req);
		err = ngfs_io_finish(&f->nf, &io, err);
		ngfs_unlock(&f->nf);
	}
	if (!err)
		front_count(f->nf.inline_io_calls != calls ? &f->counters.inline_read_bytes :
			    &f->counters.data_read_bytes, io.done);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, io.done);
	free(buf);
}

void front_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	struct front_file *fh = (struct front_file *)(uintptr_t)fi->fh;
	struct ngfs_io io = { 0 };
	uint64_t calls;
	int err, inl;

	/* Over blocks holding data the bytes move with the lock dropped (ngfs_write_start). */
	front_lock(req);
	calls = f->nf.inline_io_calls;
	err = ngfs_write_start(&f->nf, ino_of(ino), buf, size, off, fh && fh->append, &io);
	inl = f->nf.inline_io_calls != calls;	/* the file kept its bytes inline */
	/* An inline file that outgrew the inode now has blocks. */
	if (inl && !ngfs_is_inline(&f->nf, ino_of(ino)))
		front_iomap_inval(f, ino_of(ino));
	ngfs_unlock(&f->nf);
	if (!err && io.nseg) {
		err = ngfs_io_transfer(&f->nf, &io, NULL, buf);
		front_lock(req);
		err = ngfs_io_finish(&f->nf, &io, err);
		ngfs_unlock(&f->nf);
	}
	if (!err)
		front_count(inl ? &f->counters.inline_write_bytes :
			    &f->counters.data_write_bytes, io.done);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, io.done);
}

void front_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	struct front_file *fh = (struct front_file *)(uintptr_t)fi->fh;

	front_lock(req);
	ngfs_node_release(&f->nf, ino_of(ino));
	ngfs_unlock(&f->nf);
	free(fh);
	fuse_reply_err(req, 0);
}

void front_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	int err;

	front_lock(req);
	err = ngfs_check_alive(&f->nf);
	if (!err)
		err = ngfs_flush(&f->nf, 1);
	ngfs_unlock(&f->nf);
	fuse_reply_err(req, err);
}

void front_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			off_t length, struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	int err;

	front_lock(req);
	err = ngfs_fallocate(&f->nf, ino_of(ino), mode, offset, length);
	front_iomap_inval(f, ino_of(ino));
	ngfs_unlock(&f->nf);
	fuse_reply_err(req, err);
}

void front_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		    struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	off_t res = 0;
	int err;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	front_lock(req);
	err = ngfs_seek(&f->nf, ino_of(ino), off, whence, &res);
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_lseek(req, res);
}

void front_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			      struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			      off_t off_out, struct fuse_file_info *fi_out, size_t len,
			      int flags)
{
	struct front *f = front_of(req);
	struct front_file *out = (struct front_file *)(uintptr_t)fi_out->fh;
	size_t done = 0;
	int err = flags ? EINVAL : 0;

	if (!err && out && out->append)
		err = EBADF;	/* as the kernel: no copying into O_APPEND files */
	front_lock(req);
	if (!err)
		err = ngfs_copy_range(&f->nf, ino_of(ino_in), off_in, ino_of(ino_out), off_out,
				      len, &done);
	if (done)
		front_iomap_inval(f, ino_of(ino_out));
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, done);
}

void front_op_bmap(fuse_req_t req, fuse_ino_t ino, size_t blocksize, uint64_t idx)
{
	struct front *f = front_of(req);
	uint64_t bs = f->nf.fs->blocksize, byte = idx * blocksize, pblk = 0;
	int err = blocksize ? 0 : EINVAL;

	front_lock(req);
	if (!err)
		err = ngfs_bmap(&f->nf, ino_of(ino), byte / bs, &pblk);
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_bmap(req, pblk ? (pblk * bs + byte % bs) / blocksize : 0);
}
