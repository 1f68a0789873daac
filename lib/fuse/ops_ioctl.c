/*
 * ops_ioctl.c: FS_IOC_GETFLAGS/SETFLAGS, FS_IOC_FSGETXATTR/FSSETXATTR,
 * FS_IOC_GETVERSION, FITRIM and EXT4_IOC_SHUTDOWN.  The kernel sends the
 * flag ioctls with a 4-byte argument (its fileattr path); a raw
 * FS_IOC_GETVERSION carries the size of a long, but the answer is an int.
 */
#include <errno.h>
#include <string.h>
#include <linux/fs.h>

#include "fuse/front.h"

#define EXT4_IOC_SHUTDOWN _IOR('X', 125, uint32_t)

union ioctl_out {
	uint64_t word;		/* a u32 answer (the first 4 bytes) */
	struct fsxattr fa;
	struct fstrim_range range;
};

static int privileged(fuse_req_t req)
{
	return fuse_req_ctx(req)->uid == 0 || front_of(req)->cfg->fakeroot;
}

/*
 * A u32 answer: 4 bytes even when the command's size is a long, as kernel
 * ext4 writes them (put_user of an int).  The kernel copies to the caller
 * only what we return, and callers pass an int (lsattr -v): 8 bytes would
 * overwrite their stack.
 */
static int put_u32(uint32_t v, size_t out_bufsz, union ioctl_out *out, size_t *outlen)
{
	if (out_bufsz < sizeof(v))
		return EINVAL;
	out->word = v;	/* little-endian: the first 4 bytes are the u32 */
	*outlen = sizeof(v);
	return 0;
}

static int do_ioctl(fuse_req_t req, struct ngfs *nf, ext2_ino_t ino, unsigned int cmd,
		    const void *in_buf, size_t in_bufsz, size_t out_bufsz,
		    union ioctl_out *out, size_t *outlen)
{
	uint64_t trimmed;
	uint32_t v;
	int err;

	switch (cmd) {
	case FS_IOC_GETFLAGS:
		return (err = ngfs_get_flags(nf, ino, &v)) ? err :
		       put_u32(v, out_bufsz, out, outlen);
	case FS_IOC_SETFLAGS:
		if (in_bufsz < sizeof(v))
			return EINVAL;
		memcpy(&v, in_buf, sizeof(v));
		return ngfs_set_flags(nf, ino, v);
	case FS_IOC_GETVERSION:
		return (err = ngfs_get_version(nf, ino, &v)) ? err :
		       put_u32(v, out_bufsz, out, outlen);
	case FS_IOC_FSGETXATTR:
		if (out_bufsz < sizeof(out->fa))
			return EINVAL;
		*outlen = sizeof(out->fa);
		return ngfs_get_fsxattr(nf, ino, &out->fa);
	case FS_IOC_FSSETXATTR:
		if (in_bufsz < sizeof(out->fa))
			return EINVAL;
		memcpy(&out->fa, in_buf, sizeof(out->fa));
		return ngfs_set_fsxattr(nf, ino, &out->fa);
	case FITRIM:
		if (!privileged(req))
			return EPERM;
		if (in_bufsz < sizeof(out->range) || out_bufsz < sizeof(out->range))
			return EINVAL;
		memcpy(&out->range, in_buf, sizeof(out->range));
		err = ngfs_trim(nf, out->range.start, out->range.len, out->range.minlen, &trimmed);
		out->range.len = trimmed;
		*outlen = sizeof(out->range);
		return err;
	case EXT4_IOC_SHUTDOWN:
		/* An _IOR ioctl: the flags never reach us; always flush first. */
		return privileged(req) ? ngfs_shutdown(nf) : EPERM;
	}
	return ENOTTY;
}

void front_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		    struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
		    size_t in_bufsz, size_t out_bufsz)
{
	struct front *f = front_of(req);
	union ioctl_out out;
	size_t outlen = 0;
	int err = (flags & FUSE_IOCTL_COMPAT) ? ENOSYS : 0;

	memset(&out, 0, sizeof(out));
	front_lock(req);
	if (!err)
		err = do_ioctl(req, &f->nf, ino_of(ino), cmd, in_buf, in_bufsz, out_bufsz,
			       &out, &outlen);
	ngfs_unlock(&f->nf);
	/* The kernel caches attributes and did not see this ctime change. */
	if (!err && (cmd == FS_IOC_SETFLAGS || cmd == FS_IOC_FSSETXATTR))
		fuse_lowlevel_notify_inval_inode(f->wire.se, ino, -1, 0);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_ioctl(req, 0, outlen ? &out : NULL, outlen);
}
