/* ops_xattr.c: extended attributes and POSIX ACLs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse/front.h"

/* getxattr/listxattr share the size protocol: 0 asks for the size. */
static void reply_sized(fuse_req_t req, int err, const void *value, size_t len,
			size_t size)
{
	if (err)
		fuse_reply_err(req, err);
	else if (!size)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

void front_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       const char *value, size_t size, int flags)
{
	struct front *f = front_of(req);
	int err;

	front_lock(req);
	err = ngfs_setxattr(&f->nf, ino_of(ino), name, value, size, flags);
	ngfs_unlock(&f->nf);
	fuse_reply_err(req, err);
}

void front_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct front *f = front_of(req);
	void *value = NULL;
	size_t len = 0;
	int err;

	front_lock(req);
	err = ngfs_getxattr(&f->nf, ino_of(ino), name, &value, &len);
	ngfs_unlock(&f->nf);
	reply_sized(req, err, value, len, size);
	free(value);
}

void front_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct front *f = front_of(req);
	char *list = NULL;
	size_t len = 0;
	int err;

	front_lock(req);
	err = ngfs_listxattr(&f->nf, ino_of(ino), &list, &len);
	ngfs_unlock(&f->nf);
	/* As in the kernel, trusted.* is listed only for privileged callers. */
	if (!err && fuse_req_ctx(req)->uid != 0 && !f->cfg->fakeroot) {
		size_t in, out = 0;
		for (in = 0; in < len; in += strlen(list + in) + 1) {
			size_t n = strlen(list + in) + 1;
			if (strncmp(list + in, "trusted.", 8)) {
				memmove(list + out, list + in, n);
				out += n;
			}
		}
		len = out;
	}
	reply_sized(req, err, list, len, size);
	free(list);
}

void front_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct front *f = front_of(req);
	int err;

	front_lock(req);
	err = ngfs_removexattr(&f->nf, ino_of(ino), name);
	ngfs_unlock(&f->nf);
	fuse_reply_err(req, err);
}
