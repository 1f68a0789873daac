/*
 * wire.c: the hooks under libfuse (see wire.h).  Written by hand because no
 * packaged libfuse (3.14 in Debian 12) knows the iomap protocol, STATX or
 * SYNCFS; everything else stays libfuse's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "fuse/front.h"
#include "fuse/wire.h"
#include "fuse/wire_abi.h"

/*
 * The request whose reply may carry a fuse_attr, per worker thread: a
 * libfuse worker reads one request (wire_read) and sends its reply
 * (wire_writev) before it reads the next, so the thread that reads a
 * request is the one that answers it.  (A table shared by all threads,
 * indexed by unique % 256, lost entries when two requests in flight
 * collided, and that entry reply went out without FUSE_ATTR_IOMAP_*: the
 * kernel made a classic inode, served its data by FUSE_READ/FUSE_WRITE and
 * oopsed on our next FUSE_NOTIFY_IOMAP_INVAL for it.)
 */
static __thread struct {
	uint64_t unique;
	uint32_t opcode;
} pending;

static int carries_attr(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_LOOKUP: case FUSE_GETATTR: case FUSE_SETATTR: case FUSE_SYMLINK:
	case FUSE_MKNOD: case FUSE_MKDIR: case FUSE_LINK: case FUSE_CREATE:
	case FUSE_READDIRPLUS: case FUSE_TMPFILE:
		return 1;
	}
	return 0;
}

static void pending_add(uint64_t unique, uint32_t opcode)
{
	pending.unique = unique;
	pending.opcode = opcode;
}

static uint32_t pending_take(uint64_t unique)
{
	uint32_t op = 0;

	if (pending.unique == unique && unique) {
		op = pending.opcode;
		pending.unique = 0;
	}
	return op;
}

static int is_ext_opcode(uint32_t op)
{
	return op == NG_FUSE_SYNCFS || op == NG_FUSE_STATX ||
	       (op >= NG_FUSE_IOMAP_CONFIG && op <= NG_FUSE_IOMAP_END);
}

/*
 * Mainline protocol that libfuse 3.14 lacks, outside iomap: FUSE_TMPFILE
 * (ops_tmpfile.c) and the extended SETXATTR, whose setxattr_flags carry
 * FUSE_SETXATTR_ACL_KILL_SGID (kernel 5.16+, protocol 7.33).
 */
static void own_init_reply(struct front *f, struct fuse_init_out *io)
{
	if (f->wire.offered_flags & FUSE_SETXATTR_EXT) {
		io->flags |= FUSE_SETXATTR_EXT;
		f->wire.setxattr_ext = 1;
	}
}

/*
 * libfuse 3.14 reads the 8-byte fuse_setxattr_in of old kernels: drop the
 * 8 bytes the extended one adds, and carry KILL_SGID in a flags bit that
 * setxattr(2) never lets through (the core's NGFS_XATTR_KILL_SGID).
 */
static ssize_t setxattr_to_compat(struct front *f, char *buf, ssize_t n)
{
	struct fuse_in_header *in = (void *)buf;
	struct fuse_setxattr_in *sx = (void *)(in + 1);
	size_t body = n - sizeof(*in), extra = sizeof(*sx) - FUSE_COMPAT_SETXATTR_IN_SIZE;

	if (body >= FUSE_COMPAT_SETXATTR_IN_SIZE)
		sx->flags &= ~NGFS_XATTR_KILL_SGID;	/* only ever ours */
	if (!f->wire.setxattr_ext || body < sizeof(*sx))
		return n;	/* short: libfuse rejects it */
	if (sx->setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID)
		sx->flags |= NGFS_XATTR_KILL_SGID;
	memmove((char *)sx + FUSE_COMPAT_SETXATTR_IN_SIZE, sx + 1, body - sizeof(*sx));
	in->len -= extra;
	return n - extra;
}

static ssize_t wire_read(int fd, void *buf, size_t len, void *userdata)
{
	struct front *f = userdata;

	for (;;) {
		const struct fuse_in_header *in = buf;
		ssize_t n = read(fd, buf, len);

		if (n == 0) {
			/* A socket whose peer closed (the /dev/fd/N convention): the
			   end of the session, like ENODEV from an unmounted device. */
			errno = ENODEV;
			return -1;
		}
		if (n < (ssize_t)sizeof(*in))
			return n;	/* errors and short reads: libfuse's to report */
		if (in->len != (uint32_t)n)
			return n;
		if (is_ext_opcode(in->opcode) || in->opcode == FUSE_TMPFILE) {
			struct wire_req r = {
				.f = f, .fd = fd, .unique = in->unique, .nodeid = in->nodeid,
				.opcode = in->opcode, .uid = in->uid, .gid = in->gid,
				.pid = in->pid,
			};
			if (in->opcode == FUSE_TMPFILE)
				front_op_tmpfile(&r, (const char *)buf + sizeof(*in),
						 n - sizeof(*in));
			else
				ext_dispatch(&r, (const char *)buf + sizeof(*in), n - sizeof(*in));
			continue;
		}
		if (in->opcode == FUSE_SETXATTR)
			return setxattr_to_compat(f, buf, n);
		if (in->opcode == FUSE_INIT && n >= (ssize_t)(sizeof(*in) + 16)) {
			const struct fuse_init_in *ii = (const void *)(in + 1);
			size_t have = n - sizeof(*in);

			f->wire.init_unique = in->unique;
			f->wire.offered_flags = ii->flags;
			f->wire.offered_flags2 = 0;
			if (have >= sizeof(*ii) && (ii->flags & FUSE_INIT_EXT))
				f->wire.offered_flags2 = ii->flags2;
		} else {
			pending_add(in->unique, f->iomap.on && carries_attr(in->opcode) ?
					       in->opcode : 0);
		}
		if (in->opcode == FUSE_READ)
			__atomic_add_fetch(&f->counters.fuse_read, 1, __ATOMIC_RELAXED);
		else if (in->opcode == FUSE_WRITE)
			__atomic_add_fetch(&f->counters.fuse_write, 1, __ATOMIC_RELAXED);
		return n;
	}
}

static void mark_attr(struct front *f, struct fuse_attr *a)
{
	if (S_ISREG(a->mode))
		a->flags |= f->iomap.attr_flags;
}

/* Entry and attribute replies: regular files get FUSE_ATTR_IOMAP_*. */
static void patch_attrs(struct front *f, uint32_t opcode, char *p, size_t len)
{
	size_t off = 0;

	switch (opcode) {
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		if (len >= sizeof(struct fuse_attr_out))
			mark_attr(f, &((struct fuse_attr_out *)p)->attr);
		return;
	case FUSE_READDIRPLUS:
		while (off + sizeof(struct fuse_direntplus) <= len) {
			struct fuse_direntplus *d = (void *)(p + off);

			if (d->entry_out.nodeid)
				mark_attr(f, &d->entry_out.attr);
			off += FUSE_DIRENTPLUS_SIZE(d);
			if (!d->dirent.namelen)
				break;
		}
		return;
	default:
		if (len >= sizeof(struct fuse_entry_out) && ((struct fuse_entry_out *)p)->nodeid)
			mark_attr(f, &((struct fuse_entry_out *)p)->attr);
	}
}

static ssize_t wire_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct front *f = userdata;
	struct fuse_out_header *out = iov[0].iov_base;
	char *flat = NULL;
	uint32_t op = 0;
	ssize_t ret;

	if (count < 1 || iov[0].iov_len < sizeof(*out) || !out->unique)
		return writev(fd, iov, count);
	if (out->unique == f->wire.init_unique && !out->error && count >= 2 &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags2) + 4) {
		struct fuse_init_out *io = iov[1].iov_base;
		int fail = 0;

		f->wire.init_unique = 0;
		own_init_reply(f, io);
		ext_init_reply(f, f->wire.offered_flags2, &io->flags, &io->flags2, &fail);
		if (!fail && !f->iomap.on)
			ext_classic_io(f);
		if (fail) {
			struct fuse_out_header err = {
				.len = sizeof(err), .error = -EPROTO, .unique = out->unique,
			};
			return write(fd, &err, sizeof(err)) < 0 ? -1 : (ssize_t)out->len;
		}
		return writev(fd, iov, count);
	}
	op = pending_take(out->unique);
	if (!f->iomap.on || out->error)
		op = 0;
	if (!op || out->len <= sizeof(*out))
		return writev(fd, iov, count);
	if (count == 2) {
		patch_attrs(f, op, iov[1].iov_base, iov[1].iov_len);
		return writev(fd, iov, count);
	}
	/* The payload is in pieces: patch a flat copy. */
	flat = malloc(out->len);
	if (!flat)
		return writev(fd, iov, count);
	{
		size_t pos = 0;
		int i;

		for (i = 0; i < count && pos < out->len; i++) {
			size_t n = iov[i].iov_len < out->len - pos ? iov[i].iov_len : out->len - pos;
			memcpy(flat + pos, iov[i].iov_base, n);
			pos += n;
		}
		patch_attrs(f, op, flat + sizeof(*out), pos - sizeof(*out));
		ret = write(fd, flat, pos);
	}
	free(flat);
	return ret;
}

int wire_attach(struct front *f, struct fuse_session *se, int fd)
{
	static const struct fuse_custom_io io = {
		.read = wire_read,
		.writev = wire_writev,
	};

	f->wire.fd = fd;
	f->wire.se = se;
	return fuse_session_custom_io(se, &io, fd);
}

int wire_reply(struct wire_req *r, int err, const void *data, size_t len)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + (err ? 0 : len),
		.error = err ? -err : 0,
		.unique = r->unique,
	};
	struct iovec iov[2] = {
		{ .iov_base = &out, .iov_len = sizeof(out) },
		{ .iov_base = (void *)data, .iov_len = len },
	};

	if (writev(r->fd, iov, err || !len ? 1 : 2) < 0) {
		/* ENOENT: the request was interrupted; nothing to undo for these. */
		return errno;
	}
	return 0;
}

int wire_notify(struct front *f, int code, const void *data, size_t len)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + len, .error = code, .unique = 0,
	};
	struct iovec iov[2] = {
		{ .iov_base = &out, .iov_len = sizeof(out) },
		{ .iov_base = (void *)data, .iov_len = len },
	};

	return writev(f->wire.fd, iov, 2) < 0 ? errno : 0;
}
