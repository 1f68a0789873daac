/*
 * xattr.c: extended attributes through libext2fs' xattr handles, with the
 * namespace rules of the kernel's ext4 (user., trusted., security., and the
 * two POSIX ACL names under system.).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "core/ngfs.h"

static int open_xattrs(struct ngfs *nf, ext2_ino_t ino, struct ext2_xattr_handle **h,
		       const char *op)
{
	errcode_t err = ext2fs_xattrs_open(nf->fs, ino, h);

	if (!err) {
		err = ext2fs_xattrs_read(*h);
		if (err)
			ext2fs_xattrs_close(h);
	}
	return ngfs_errno(nf, err, op, ino);
}

int ngfs_xattr_raw_get(struct ngfs *nf, ext2_ino_t ino, const char *name,
		       void **value, size_t *len)
{
	struct ext2_xattr_handle *h;
	errcode_t err;
	int ret = open_xattrs(nf, ino, &h, "getxattr");

	if (ret)
		return ret;
	err = ext2fs_xattr_get(h, name, value, len);
	ext2fs_xattrs_close(&h);
	return ngfs_errno(nf, err, "getxattr", ino);
}

int ngfs_xattr_raw_set(struct ngfs *nf, ext2_ino_t ino, const char *name,
		       const void *value, size_t len)
{
	struct ext2_xattr_handle *h;
	errcode_t err;
	int ret = open_xattrs(nf, ino, &h, "setxattr");

	if (ret)
		return ret;
	err = ext2fs_xattr_set(h, name, value, len);
	ext2fs_xattrs_close(&h);
	nf->dirty = 1;
	return ngfs_errno(nf, err, "setxattr", ino);
}

int ngfs_xattr_raw_remove(struct ngfs *nf, ext2_ino_t ino, const char *name)
{
	struct ext2_xattr_handle *h;
	errcode_t err;
	int ret = open_xattrs(nf, ino, &h, "removexattr");

	if (ret)
		return ret;
	err = ext2fs_xattr_remove(h, name);
	ext2fs_xattrs_close(&h);
	nf->dirty = 1;
	return ngfs_errno(nf, err, "removexattr", ino);
}

static int is_acl(const char *name)
{
	return !strcmp(name, NGFS_ACL_ACCESS) || !strcmp(name, NGFS_ACL_DEFAULT);
}

/* Namespaces ext4 serves; anything else is EOPNOTSUPP as in the kernel. */
static int check_xattr_name(struct ngfs *nf, const char *name)
{
	static const char *const prefixes[] = { "user.", "trusted.", "security." };
	size_t i;

	if (is_acl(name))
		return nf->opts.acl ? 0 : EOPNOTSUPP;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t len = strlen(prefixes[i]);
		if (!strncmp(name, prefixes[i], len))
			return name[len] ? 0 : EINVAL;
	}
	return EOPNOTSUPP;
}

int ngfs_getxattr(struct ngfs *nf, ext2_ino_t ino, const char *name, void **value,
		  size_t *len)
{
	int err;

	if ((err = ngfs_check_alive(nf)) || (err = check_xattr_name(nf, name)))
		return err;
	err = ngfs_xattr_raw_get(nf, ino, name, value, len);
	/*
	 * No ext_attr feature: nothing is stored, so nothing is found.  The
	 * kernel treats EOPNOTSUPP on an ACL name as an error (the directory
	 * could not even be opened), ENODATA as "no ACL".
	 */
	return err == EOPNOTSUPP ? ENODATA : err;
}

static int xattr_exists(struct ngfs *nf, ext2_ino_t ino, const char *name)
{
	void *value;
	size_t len;
	int err = ngfs_xattr_raw_get(nf, ino, name, &value, &len);

	if (!err)
		free(value);
	return err == ENODATA ? 0 : err ? -err : 1;
}

/* Setting an access ACL also sets the mode; an ACL equal to the mode is dropped. */
static int set_access_acl(struct ngfs *nf, ext2_ino_t ino,
			  struct ext2_inode_large *inode, const void *value,
			  size_t len, int *drop)
{
	mode_t mode;
	int equivalent, err;

	err = ngfs_acl_mode_from_xattr(value, len, &mode, &equivalent);
	if (err)
		return err;
	inode->i_mode = (inode->i_mode & ~0777) | mode;
	*drop = equivalent;
	return 0;
}

int ngfs_setxattr(struct ngfs *nf, ext2_ino_t ino, const char *name, const void *value,
		  size_t len, int flags)
{
	struct ext2_inode_large inode;
	int exists, err, drop = 0;
	mode_t old_mode, mode;

	if ((err = ngfs_check_writable(nf)) || (err = check_xattr_name(nf, name)) ||
	    (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return EPERM;
	if (!strcmp(name, NGFS_ACL_DEFAULT) && !LINUX_S_ISDIR(inode.i_mode))
		return EACCES;
	if (!ngfs_space_grant(nf, 2))
		return ENOSPC;
	exists = xattr_exists(nf, ino, name);
	if (exists < 0)
		return -exists;
	if ((flags & XATTR_CREATE) && exists)
		return EEXIST;
	if ((flags & XATTR_REPLACE) && !exists)
		return ENODATA;
	old_mode = inode.i_mode;
	if (!strcmp(name, NGFS_ACL_ACCESS) &&
	    (err = set_access_acl(nf, ino, &inode, value, len, &drop)))
		return err;
	/* As chmod would (the kernel's posix_acl_update_mode). */
	if (!strcmp(name, NGFS_ACL_ACCESS) && (flags & NGFS_XATTR_KILL_SGID))
		inode.i_mode &= ~S_ISGID;
	if (drop)
		err = exists ? ngfs_xattr_raw_remove(nf, ino, name) : 0;
	else
		err = ngfs_xattr_raw_set(nf, ino, name, value, len);
	if (err)
		return err;
	/* The xattr may have moved inode fields (i_file_acl): re-read first. */
	mode = inode.i_mode;
	if ((err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (mode != old_mode)
		inode.i_mode = mode;
	ngfs_touch(nf, &inode, 0);
	return ngfs_write_inode(nf, ino, &inode);
}

int ngfs_removexattr(struct ngfs *nf, ext2_ino_t ino, const char *name)
{
	struct ext2_inode_large inode;
	int err;

	if ((err = ngfs_check_writable(nf)) || (err = check_xattr_name(nf, name)) ||
	    (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return EPERM;
	err = xattr_exists(nf, ino, name);
	if (err <= 0)
		return err < 0 ? -err : ENODATA;
	if ((err = ngfs_xattr_raw_remove(nf, ino, name)) ||
	    (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	ngfs_touch(nf, &inode, 0);
	return ngfs_write_inode(nf, ino, &inode);
}

struct list_ctx {
	struct ngfs *nf;
	char *buf;
	size_t len, cap;
	int err;
};

static int list_cb(char *name, char *value, size_t value_len, void *data)
{
	struct list_ctx *ctx = data;
	size_t n = strlen(name) + 1;

	if (check_xattr_name(ctx->nf, name))
		return 0;	/* system.data and other internal names */
	if (ctx->len + n > ctx->cap) {
		size_t cap = (ctx->cap + n) * 2;
		char *p = realloc(ctx->buf, cap);
		if (!p) {
			ctx->err = ENOMEM;
			return XATTR_ABORT;
		}
		ctx->buf = p;
		ctx->cap = cap;
	}
	memcpy(ctx->buf + ctx->len, name, n);
	ctx->len += n;
	return 0;
}

int ngfs_listxattr(struct ngfs *nf, ext2_ino_t ino, char **list, size_t *len)
{
	struct ext2_xattr_handle *h;
	struct list_ctx ctx = { .nf = nf };
	errcode_t err;
	int ret;

	if ((ret = ngfs_check_alive(nf)))
		return ret;
	ret = open_xattrs(nf, ino, &h, "listxattr");
	if (ret == EOPNOTSUPP) {	/* no ext_attr feature: nothing to list */
		*list = NULL;
		*len = 0;
		return 0;
	}
	if (ret)
		return ret;
	err = ext2fs_xattrs_iterate(h, list_cb, &ctx);
	ext2fs_xattrs_close(&h);
	if (err || ctx.err) {
		free(ctx.buf);
		return ctx.err ? ctx.err : ngfs_errno(nf, err, "listxattr", ino);
	}
	*list = ctx.buf;
	*len = ctx.len;
	return 0;
}
