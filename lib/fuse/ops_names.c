/*
 * ops_names.c: the namespace: mknod, mkdir, symlink, unlink, rmdir,
 * rename and link.
 */
#include <errno.h>
#include <unistd.h>

#include "fuse/front.h"

/* A new inode of any type, as the caller of REQ (lock held). */
int front_new_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   dev_t rdev, const char *target, ext2_ino_t *ino)
{
	struct ngfs_creds cr;
	int err;

	front_creds(req, &cr);
	err = front_access(req, ino_of(parent), W_OK | X_OK);
	if (!err)
		err = ngfs_create(&front_of(req)->nf, ino_of(parent), name, mode, rdev, target,
				  &cr, ino);
	return err;
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      dev_t rdev, const char *target)
{
	struct front *f = front_of(req);
	struct fuse_entry_param e;
	ext2_ino_t ino;
	int err;

	front_lock(req);
	err = front_new_node(req, parent, name, mode, rdev, target, &ino);
	if (!err)
		err = front_entry(f, ino, &e);
	ngfs_unlock(&f->nf);
	front_reply_entry(req, err, &e);
}

void front_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		    dev_t rdev)
{
	if (S_ISDIR(mode) || S_ISLNK(mode) || !(mode & S_IFMT)) {
		if (!(mode & S_IFMT))
			mode |= S_IFREG;
		else {
			fuse_reply_err(req, EINVAL);
			return;
		}
	}
	make_node(req, parent, name, mode, rdev, NULL);
}

void front_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

void front_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		      const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, 0, link);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int rmdir)
{
	struct front *f = front_of(req);
	int err;

	front_lock(req);
	err = front_access(req, ino_of(parent), W_OK | X_OK);
	if (!err)
		err = ngfs_unlink(&f->nf, ino_of(parent), name, rmdir);
	ngfs_unlock(&f->nf);
	fuse_reply_err(req, err);
}

void front_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

void front_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 1);
}

void front_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct front *f = front_of(req);
	struct ngfs_creds cr;	/* owner of a RENAME_WHITEOUT whiteout */
	int err;

	front_creds(req, &cr);
	front_lock(req);
	err = front_access(req, ino_of(parent), W_OK | X_OK);
	if (!err)
		err = front_access(req, ino_of(newparent), W_OK | X_OK);
	if (!err)
		err = ngfs_rename(&f->nf, ino_of(parent), name, ino_of(newparent), newname,
				  flags, &cr);
	ngfs_unlock(&f->nf);
	fuse_reply_err(req, err);
}

void front_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname)
{
	struct front *f = front_of(req);
	struct fuse_entry_param e;
	int err;

	front_lock(req);
	err = front_access(req, ino_of(newparent), W_OK | X_OK);
	if (!err)
		err = ngfs_link(&f->nf, ino_of(ino), ino_of(newparent), newname);
	if (!err)
		err = front_entry(f, ino_of(ino), &e);
	ngfs_unlock(&f->nf);
	front_reply_entry(req, err, &e);
}
