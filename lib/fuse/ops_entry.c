/*
 * ops_entry.c: inodes as the kernel sees them: lookup, forget, getattr,
 * setattr, access, readlink; and the helpers the other handlers share.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse/front.h"

/*
 * The entry the kernel gets for INO, counted as one lookup.  Callers that
 * found INO through a name check it with ngfs_lookup_live/ngfs_entry_live
 * first: a name may have gone since.
 */
int front_entry(struct front *f, ext2_ino_t ino, struct fuse_entry_param *e)
{
	struct ext2_inode_large inode;
	int err;

	memset(e, 0, sizeof(*e));
	if ((err = ngfs_read_inode(&f->nf, ino, &inode)))
		return err;
	ngfs_inode_stat(&f->nf, ino, &inode, &e->attr);
	e->ino = nodeid_of(ino);
	/* The kernel made the root with generation 0; never contradict it. */
	e->generation = ino == EXT2_ROOT_INO ? 0 : inode.i_generation;
	e->attr_timeout = f->attr_timeout;
	e->entry_timeout = f->entry_timeout;
	ngfs_node_lookup(&f->nf, ino);
	return 0;
}

void front_reply_entry(fuse_req_t req, int err, struct fuse_entry_param *e)
{
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, e);
}

static int in_group(void *ctx, gid_t gid)
{
	fuse_req_t req = ctx;
	gid_t groups[NGROUPS_MAX];
	int i, n = fuse_req_getgroups(req, NGROUPS_MAX, groups);

	if (fuse_req_ctx(req)->gid == gid)
		return 1;
	for (i = 0; i < n && i < NGROUPS_MAX; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

void front_creds(fuse_req_t req, struct ngfs_creds *cr)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct front *f = front_of(req);

	(void)f;
	cr->uid = ctx->uid;
	cr->gid = ctx->gid;
	cr->umask = ctx->umask;
	cr->in_group = in_group;
	cr->ctx = req;
}

/*
 * Access checks for mounts without default_permissions (fakeroot treats
 * everyone as root).  With default_permissions the kernel has checked.
 */
int front_access(fuse_req_t req, ext2_ino_t ino, int mask)
{
	struct front *f = front_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ext2_inode_large inode;
	mode_t mode, bits;
	int err;

	if (f->kernel_checks || f->cfg->fakeroot || mask == F_OK)
		return 0;
	if ((err = ngfs_read_inode(&f->nf, ino, &inode)))
		return err;
	mode = inode.i_mode;
	if (ctx->uid == 0)
		return (mask & X_OK) && !(mode & 0111) && !LINUX_S_ISDIR(mode) ? EACCES : 0;
	if (ctx->uid == ngfs_inode_uid(&inode))
		bits = (mode >> 6) & 7;
	else if (in_group(req, ngfs_inode_gid(&inode)))
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	return (bits & mask) == (mode_t)mask ? 0 : EACCES;
}

void front_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct front *f = front_of(req);
	struct fuse_entry_param e;
	struct ext2_inode_large inode;
	ext2_ino_t ino;
	int err;

	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		front_op_lookup_dot(req, parent, name);	/* decoding a file handle */
		return;
	}
	front_lock(req);
	err = front_access(req, ino_of(parent), X_OK);
	if (!err)
		err = ngfs_lookup_live(&f->nf, ino_of(parent), name, &ino, &inode);
	if (!err)
		err = front_entry(f, ino, &e);
	ngfs_unlock(&f->nf);
	if (err == ENOENT) {
		/* Negative entry: the kernel may cache the absence. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = f->entry_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	front_reply_entry(req, err, &e);
}

void front_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct front *f = front_of(req);

	front_lock(req);
	ngfs_node_forget(&f->nf, ino_of(ino), nlookup);
	ngfs_unlock(&f->nf);
	fuse_reply_none(req);
}

void front_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct front *f = front_of(req);
	size_t i;

	front_lock(req);
	for (i = 0; i < count; i++)
		ngfs_node_forget(&f->nf, ino_of(forgets[i].ino), forgets[i].nlookup);
	ngfs_unlock(&f->nf);
	fuse_reply_none(req);
}

void front_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	struct stat st;
	int err;

	front_lock(req);
	err = ngfs_getattr(&f->nf, ino_of(ino), &st);
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, f->attr_timeout);
}

/*
 * When the kernel keeps file times itself (iomap files, writeback cache) it
 * sends "now" as an explicit mtime along with the ctime; notify_change()
 * stamps both from one clock read, so they are equal.  A time the caller
 * chose (utimensat with a value) differs from that ctime.
 */
static int mtime_is_now(const struct stat *attr, int to_set)
{
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		return 1;
	return (to_set & FUSE_SET_ATTR_CTIME) &&
	       attr->st_mtim.tv_sec == attr->st_ctim.tv_sec &&
	       attr->st_mtim.tv_nsec == attr->st_ctim.tv_nsec;
}

static int do_setattr(fuse_req_t req, struct front *f, ext2_ino_t ino, struct stat *attr,
		      int to_set)
{
	struct ngfs *nf = &f->nf;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ext2_inode_large inode;
	struct timespec now;
	int err;

	if ((err = ngfs_check_writable(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	/* Without default_permissions, only the owner (or root) changes attributes. */
	if (!f->kernel_checks && !f->cfg->fakeroot && ctx->uid != 0 &&
	    ctx->uid != ngfs_inode_uid(&inode) && !(to_set & FUSE_SET_ATTR_SIZE))
		return EPERM;
	if (inode.i_flags & EXT2_IMMUTABLE_FL)
		return EPERM;
	/* Append-only inodes accept "now" timestamps, nothing else. */
	if ((inode.i_flags & EXT2_APPEND_FL) &&
	    ((to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
			FUSE_SET_ATTR_GID)) ||
	     ((to_set & FUSE_SET_ATTR_ATIME) && !(to_set & FUSE_SET_ATTR_ATIME_NOW)) ||
	     ((to_set & FUSE_SET_ATTR_MTIME) && !mtime_is_now(attr, to_set))))
		return EPERM;
	ngfs_now(&now);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!LINUX_S_ISREG(inode.i_mode))
			return LINUX_S_ISDIR(inode.i_mode) ? EISDIR : EINVAL;
		if ((err = ngfs_truncate(nf, ino, &inode, attr->st_size)))
			return err;
		front_iomap_inval(front_of(req), ino);
		ngfs_set_time(nf, &inode, NGFS_MTIME, &now);
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		inode.i_mode = (inode.i_mode & S_IFMT) | (attr->st_mode & 07777);
		if (nf->opts.acl) {
			if ((err = ngfs_write_inode(nf, ino, &inode)) ||
			    (err = ngfs_acl_chmod(nf, ino, inode.i_mode)) ||
			    (err = ngfs_read_inode(nf, ino, &inode)))
				return err;
		}
	}
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		ngfs_set_owner(&inode, (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
			       (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1);
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		ngfs_set_time(nf, &inode, NGFS_ATIME, &now);
	else if (to_set & FUSE_SET_ATTR_ATIME)
		ngfs_set_time(nf, &inode, NGFS_ATIME, &attr->st_atim);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		ngfs_set_time(nf, &inode, NGFS_MTIME, &now);
	else if (to_set & FUSE_SET_ATTR_MTIME)
		ngfs_set_time(nf, &inode, NGFS_MTIME, &attr->st_mtim);
	if (to_set & FUSE_SET_ATTR_CTIME)
		ngfs_set_time(nf, &inode, NGFS_CTIME, &attr->st_ctim);
	else
		ngfs_set_time(nf, &inode, NGFS_CTIME, &now);
	nf->dirty = 1;
	if ((err = ngfs_write_inode(nf, ino, &inode)))
		return err;
	ngfs_inode_stat(nf, ino, &inode, attr);
	return 0;
}

void front_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	int err;

	front_lock(req);
	err = do_setattr(req, f, ino_of(ino), attr, to_set);
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, attr, f->attr_timeout);
}

void front_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct front *f = front_of(req);
	int err;

	front_lock(req);
	err = ngfs_check_alive(&f->nf);
	if (!err && (mask & W_OK) && f->nf.readonly)
		err = EROFS;
	if (!err)
		err = front_access(req, ino_of(ino), mask);
	ngfs_unlock(&f->nf);
	fuse_reply_err(req, err);
}

void front_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct front *f = front_of(req);
	char *buf = malloc(f->nf.fs->blocksize + 1);
	int err = buf ? 0 : ENOMEM;

	front_lock(req);
	if (!err)
		err = ngfs_readlink(&f->nf, ino_of(ino), buf, f->nf.fs->blocksize + 1);
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_readlink(req, buf);
	free(buf);
}
