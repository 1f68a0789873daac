/* ops_fs.c: the whole filesystem: init, destroy, statfs; and the op table. */
#include <errno.h>
#include <string.h>

#include "fuse/front.h"

void front_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct front *f = userdata;
	unsigned int want = FUSE_CAP_DONT_MASK | FUSE_CAP_IOCTL_DIR |
			    FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ATOMIC_O_TRUNC |
			    FUSE_CAP_EXPORT_SUPPORT;	/* file handles: ops_export.c */

	if (f->nf.opts.acl)
		want |= FUSE_CAP_POSIX_ACL;
	conn->want |= want & conn->capable;
	/* Every write must reach us in order with the size we decide (O_APPEND). */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/*
	 * No GETATTR before every cached read (libfuse turns auto_inval_data on
	 * by default): file data changes only through this kernel, which keeps
	 * its page cache right itself (writes, truncate, fallocate,
	 * copy_file_range), and opens drop the cache when atime is due
	 * (ops_file.c).  With attr_timeout=0 it doubled the round trips of
	 * every read: 4 KiB random reads ran at a quarter of kernel ext4.
	 */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (f->nf.opts.acl && !(conn->capable & FUSE_CAP_POSIX_ACL))
		ngfs_log("%s: kernel cannot enforce POSIX ACLs; acl disabled", f->nf.device);
	conn->time_gran = 1;
	ngfs_debug(&f->nf, "init: proto %u.%u, want 0x%x", conn->proto_major,
		   conn->proto_minor, conn->want);
	front_prune_start(f, conn->proto_minor);
}

/*
 * For fuseblk mounts the kernel sends DESTROY during umount and waits for
 * the reply: everything must be on the device before we answer.
 */
void front_op_destroy(void *userdata)
{
	struct front *f = userdata;

	if (f->destroyed)
		return;
	front_prune_stop(f);
	ngfs_lock(&f->nf);
	f->close_err = ngfs_close(&f->nf);
	f->destroyed = 1;
	ngfs_unlock(&f->nf);
}

void front_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct front *f = front_of(req);
	struct statvfs st;
	int err;

	front_lock(req);
	err = ngfs_statfs(&f->nf, &st);
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_statfs(req, &st);
}

const struct fuse_lowlevel_ops front_ops = {
	.init = front_op_init,
	.destroy = front_op_destroy,
	.lookup = front_op_lookup,
	.forget = front_op_forget,
	.forget_multi = front_op_forget_multi,
	.getattr = front_op_getattr,
	.setattr = front_op_setattr,
	.readlink = front_op_readlink,
	.mknod = front_op_mknod,
	.mkdir = front_op_mkdir,
	.unlink = front_op_unlink,
	.rmdir = front_op_rmdir,
	.symlink = front_op_symlink,
	.rename = front_op_rename,
	.link = front_op_link,
	.open = front_op_open,
	.read = front_op_read,
	.write = front_op_write,
	/*
	 * No .flush: writes reach the device before their reply and POSIX
	 * locks are the kernel's, so close() has nothing to wait for.  After
	 * the first ENOSYS the kernel stops sending FLUSH: one round trip less
	 * per close, and close() returns 0 as on kernel ext4.
	 */
	.release = front_op_release,
	.fsync = front_op_fsync,
	.opendir = front_op_opendir,
	.readdir = front_op_readdir,
	.readdirplus = front_op_readdirplus,
	.releasedir = front_op_releasedir,
	.fsyncdir = front_op_fsyncdir,
	.statfs = front_op_statfs,
	.setxattr = front_op_setxattr,
	.getxattr = front_op_getxattr,
	.listxattr = front_op_listxattr,
	.removexattr = front_op_removexattr,
	.access = front_op_access,
	.create = front_op_create,
	.bmap = front_op_bmap,
	.ioctl = front_op_ioctl,
	.fallocate = front_op_fallocate,
	.lseek = front_op_lseek,
	.copy_file_range = front_op_copy_file_range,
};
