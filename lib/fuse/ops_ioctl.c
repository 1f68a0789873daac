/*
 * ops_ioctl.c: FS_IOC_GETFLAGS/SETFLAGS, FS_IOC_FSGETXATTR/FSSETXATTR,
 * FS_IOC_GETVERSION, FITRIM and EXT4_IOC_SHUTDOWN.  The kernel sends the
 * flag ioctls with a 4-byte argument (its fileattr path); a raw
 * FS_IOC_GETVERSION carries the size of a long.
 */
#include <errno.h>
#include <string.h>
#include <linux/fs.h>

#include "fuse/front.h"

#define EXT4_IOC_SHUTDOWN _IOR('X', 125, uint32_t)

static void reply_u32(fuse_req_t req, uint32_t v, size_t out_bufsz)
{
	uint64_t wide = v;

	if (out_bufsz >= sizeof(wide))
		fuse_reply_ioctl(req, 0, &wide, sizeof(wide));
	else if (out_bufsz >= sizeof(v))
		fuse_reply_ioctl(req, 0, &v, sizeof(v));
	else
		fuse_reply_err(req, EINVAL);
}

static int privileged(fuse_req_t req)
{
	return fuse_req_ctx(req)->uid == 0 || front_of(req)->cfg->fakeroot;
}

void front_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		    struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
		    size_t in_bufsz, size_t out_bufsz)
{
	struct front *f = front_of(req);
	struct ngfs *nf = &f->nf;
	ext2_ino_t eino = ino_of(ino);
	uint32_t v = 0;
	int err;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	front_lock(req);
	switch (cmd) {
	case FS_IOC_GETFLAGS:
		err = ngfs_get_flags(nf, eino, &v);
		ngfs_unlock(nf);
		if (err)
			fuse_reply_err(req, err);
		else
			reply_u32(req, v, out_bufsz);
		return;
	case FS_IOC_SETFLAGS:
		if (in_bufsz < sizeof(v)) {
			err = EINVAL;
			break;
		}
		memcpy(&v, in_buf, sizeof(v));
		err = ngfs_set_flags(nf, eino, v);
		break;
	case FS_IOC_GETVERSION:
		err = ngfs_get_version(nf, eino, &v);
		ngfs_unlock(nf);
		if (err)
			fuse_reply_err(req, err);
		else
			reply_u32(req, v, out_bufsz);
		return;
	case FS_IOC_FSGETXATTR: {
		struct fsxattr fa;
		err = ngfs_get_fsxattr(nf, eino, &fa);
		ngfs_unlock(nf);
		if (err)
			fuse_reply_err(req, err);
		else if (out_bufsz < sizeof(fa))
			fuse_reply_err(req, EINVAL);
		else
			fuse_reply_ioctl(req, 0, &fa, sizeof(fa));
		return;
	}
	case FS_IOC_FSSETXATTR: {
		struct fsxattr fa;
		if (in_bufsz < sizeof(fa)) {
			err = EINVAL;
			break;
		}
		memcpy(&fa, in_buf, sizeof(fa));
		err = ngfs_set_fsxattr(nf, eino, &fa);
		break;
	}
	case FITRIM: {
		struct fstrim_range range;
		uint64_t trimmed = 0;
		if (!privileged(req)) {
			err = EPERM;
			break;
		}
		if (in_bufsz < sizeof(range) || out_bufsz < sizeof(range)) {
			err = EINVAL;
			break;
		}
		memcpy(&range, in_buf, sizeof(range));
		err = ngfs_trim(nf, range.start, range.len, range.minlen, &trimmed);
		ngfs_unlock(nf);
		if (err) {
			fuse_reply_err(req, err);
		} else {
			range.len = trimmed;
			fuse_reply_ioctl(req, 0, &range, sizeof(range));
		}
		return;
	}
	case EXT4_IOC_SHUTDOWN:
		err = privileged(req) ? ngfs_shutdown(nf) : EPERM;
		ngfs_unlock(nf);
		if (err)
			fuse_reply_err(req, err);
		else
			fuse_reply_ioctl(req, 0, NULL, 0);
		return;
	default:
		err = ENOTTY;
	}
	ngfs_unlock(nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
}
