/*
 * proto.c: the sandbox protocol (proto.h, doc/sandbox-protocol.md).
 * Written by hand because no packaged library does strict fixed-layout
 * framing with fd passing over SOCK_SEQPACKET: one packet per message,
 * every byte checked, every stray fd closed.  The receiver trusts nothing
 * in a packet; the sender refuses to put anything on the wire that the
 * receiver would reject.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* MSG_CMSG_CLOEXEC */
#endif
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "sandbox/proto.h"

#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83	/* Linux 6.16; older headers lack it */
#endif

#define NGSB_ERRNO_MAX	4095	/* the kernel's MAX_ERRNO */

/* The largest message (ARGS) must fit in one packet. */
_Static_assert(NGSB_HEADER_SIZE + 8 + NGSB_PATH_MAX + NGSB_OPTS_MAX <= NGSB_MAX_MSG,
	       "ARGS does not fit in NGSB_MAX_MSG");

static const char *const type_names[] = {
	[NGSB_HELLO] = "HELLO", [NGSB_HELLO_REPLY] = "HELLO_REPLY",
	[NGSB_ARGS] = "ARGS", [NGSB_OPEN_DEVICE] = "OPEN_DEVICE",
	[NGSB_DEVICE] = "DEVICE", [NGSB_MOUNT] = "MOUNT",
	[NGSB_FUSE_DEV] = "FUSE_DEV", [NGSB_BYE] = "BYE",
};

const char *ngsb_type_name(uint32_t type)
{
	if (type >= NGSB_HELLO && type <= NGSB_BYE)
		return type_names[type];
	return "unknown";
}

void ngsb_init(struct ngsb_msg *msg, uint32_t type)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = type;
	msg->fd = -1;
}

static int type_has_fd(uint32_t type)
{
	return type == NGSB_DEVICE || type == NGSB_FUSE_DEV;
}

static int type_has_error(uint32_t type)
{
	return type_has_fd(type) || type == NGSB_BYE;
}

/* Set WHY (if any) and return ERR. */
static int __attribute__((format(printf, 4, 5)))
fail(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/*
 * Payload layouts, in wire order, as offsets into struct ngsb_msg: one
 * table for both directions, so sender and receiver cannot disagree.
 * Strings: all the F_LEN words come first, then the strings in the same
 * order.  F_U32 carries the mask of valid bits (flags) or ANY.
 */
enum { F_END, F_U32, F_U64, F_RSV, F_LEN, F_STR };

struct field {
	uint8_t kind;
	uint16_t off;
	uint32_t arg;		/* F_U32: valid bits; F_LEN, F_STR: max length */
};

#define M(member)	offsetof(struct ngsb_msg, u.member)
#define ANY		0xffffffffU
#define STR(kind, member, max)	{ kind, M(member), max }

static const struct field layouts[NGSB_BYE + 1][7] = {
	[NGSB_HELLO] = {
		{ F_U32, M(hello.min_version), ANY }, { F_U32, M(hello.max_version), ANY },
		{ F_U32, M(hello.flags), NGSB_HELLO_ROOT },
		{ F_U32, M(hello.uid), ANY }, { F_U32, M(hello.gid), ANY }, { F_RSV, 0, 0 } },
	[NGSB_HELLO_REPLY] = { { F_U32, M(hello_reply.version), ANY }, { F_RSV, 0, 0 } },
	[NGSB_ARGS] = {
		STR(F_LEN, args.source, NGSB_PATH_MAX), STR(F_LEN, args.options, NGSB_OPTS_MAX),
		STR(F_STR, args.source, NGSB_PATH_MAX), STR(F_STR, args.options, NGSB_OPTS_MAX) },
	[NGSB_OPEN_DEVICE] = { { F_U32, M(open_device.flags), NGSB_DEV_RW }, { F_RSV, 0, 0 } },
	[NGSB_DEVICE] = { { F_U32, M(device.flags), NGSB_DEV_RW }, { F_RSV, 0, 0 } },
	[NGSB_MOUNT] = {
		{ F_U64, M(mount.ms_flags), 0 },
		STR(F_LEN, mount.fstype, NGSB_FSTYPE_MAX), STR(F_LEN, mount.data, NGSB_OPTS_MAX),
		STR(F_STR, mount.fstype, NGSB_FSTYPE_MAX), STR(F_STR, mount.data, NGSB_OPTS_MAX) },
	[NGSB_FUSE_DEV] = { { F_RSV, 0, 0 }, { F_RSV, 0, 0 } },
	[NGSB_BYE] = {
		STR(F_LEN, bye.text, NGSB_TEXT_MAX), { F_RSV, 0, 0 },
		STR(F_STR, bye.text, NGSB_TEXT_MAX) },
};

static void le32_put(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t le32_get(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---------------------------------------------------------------- encode */

/* Length with NUL of the string at S (an array of MAX bytes); 0: no NUL. */
static uint32_t str_len(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	return n < max ? n + 1 : 0;
}

/* The payload of M into P; returns its size, or -EINVAL / -EMSGSIZE. */
static int encode_payload(const struct ngsb_msg *m, unsigned char *p)
{
	const struct field *f;
	const char *base = (const char *)m;
	uint32_t v, len;
	uint64_t v64;
	size_t off = 0;

	for (f = layouts[m->type]; f->kind != F_END; f++) {
		switch (f->kind) {
		case F_U32:
			memcpy(&v, base + f->off, 4);
			if (v & ~f->arg)
				return -EINVAL;
			le32_put(p + off, v);
			off += 4;
			break;
		case F_U64:
			memcpy(&v64, base + f->off, 8);
			le32_put(p + off, (uint32_t)v64);
			le32_put(p + off + 4, (uint32_t)(v64 >> 32));
			off += 8;
			break;
		case F_RSV:
			le32_put(p + off, 0);
			off += 4;
			break;
		case F_LEN:
		case F_STR:
			len = str_len(base + f->off, f->arg);
			if (!len)
				return -EMSGSIZE;
			if (f->kind == F_LEN) {
				le32_put(p + off, len);
				off += 4;
				break;
			}
			memcpy(p + off, base + f->off, len);
			memset(p + off + len, 0, pad4(len) - len);
			off += pad4(len);
			break;
		}
	}
	return off;
}

/* The rules the receiver enforces on the header and the fd. */
static int check_send(const struct ngsb_msg *m)
{
	if (m->type < NGSB_HELLO || m->type > NGSB_BYE ||
	    m->error < 0 || m->error > NGSB_ERRNO_MAX ||
	    (m->error && !type_has_error(m->type)))
		return EINVAL;
	if (type_has_fd(m->type))
		return (m->fd >= 0) == (m->error == 0) ? 0 : EINVAL;
	return m->fd >= 0 ? EINVAL : 0;
}

int ngsb_send(int sock, const struct ngsb_msg *msg)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	unsigned char buf[NGSB_MAX_MSG];
	struct iovec iov = { buf, 0 };
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;
	int len, err;

	err = check_send(msg);
	if (err)
		return err;
	len = encode_payload(msg, buf + NGSB_HEADER_SIZE);
	if (len < 0)
		return -len;
	iov.iov_len = NGSB_HEADER_SIZE + len;
	le32_put(buf, NGSB_MAGIC);
	le32_put(buf + 4, NGSB_VERSION | msg->type << 16);	/* le16 version, le16 type */
	le32_put(buf + 8, iov.iov_len);
	le32_put(buf + 12, (uint32_t)msg->error);

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (msg->fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &msg->fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	/* SOCK_SEQPACKET sends a packet whole or not at all */
	return (size_t)n == iov.iov_len ? 0 : EIO;
}

/* ---------------------------------------------------------------- decode */

/* A string of LEN bytes (NUL included, already range-checked) at P, padded. */
static int check_str(const unsigned char *p, uint32_t len, const char *name,
		     char *why, size_t whylen)
{
	size_t i;

	if (p[len - 1])
		return fail(EPROTO, why, whylen, "string without NUL in %s", name);
	if (strlen((const char *)p) != len - 1)
		return fail(EPROTO, why, whylen, "NUL inside a string in %s", name);
	for (i = len; i < pad4(len); i++)
		if (p[i])
			return fail(EPROTO, why, whylen, "nonzero padding in %s", name);
	return 0;
}

/* The N payload bytes at P into M, whose type has been checked. */
static int decode_payload(const unsigned char *p, size_t n, struct ngsb_msg *m,
			  char *why, size_t whylen)
{
	const char *name = ngsb_type_name(m->type);
	const struct field *f;
	char *base = (char *)m;
	uint32_t v, lens[2];
	uint64_t v64;
	size_t off = 0, need;
	int nlen = 0, nstr = 0;

	for (f = layouts[m->type]; f->kind != F_END; f++) {
		/* lens[] values were range-checked when read: no overflow */
		need = f->kind == F_STR ? pad4(lens[nstr]) : f->kind == F_U64 ? 8 : 4;
		if (n - off < need)
			return fail(EPROTO, why, whylen, "%s shorter than its payload", name);
		v = le32_get(p + off);
		switch (f->kind) {
		case F_U32:
			if (v & ~f->arg)
				return fail(EPROTO, why, whylen, "unknown flags 0x%x in %s",
					    v & ~f->arg, name);
			memcpy(base + f->off, &v, 4);
			break;
		case F_U64:
			v64 = v | (uint64_t)le32_get(p + off + 4) << 32;
			memcpy(base + f->off, &v64, 8);
			break;
		case F_RSV:
			if (v)
				return fail(EPROTO, why, whylen, "nonzero reserved field in %s",
					    name);
			break;
		case F_LEN:
			if (v < 1 || v > f->arg)
				return fail(EPROTO, why, whylen,
					    "string length %u in %s not in 1..%u", v, name, f->arg);
			lens[nlen++] = v;
			break;
		case F_STR:
			if (check_str(p + off, lens[nstr], name, why, whylen))
				return EPROTO;
			memcpy(base + f->off, p + off, lens[nstr++]);
			break;
		}
		off += need;
	}
	if (off != n)
		return fail(EPROTO, why, whylen, "%zu trailing bytes in %s", n - off, name);
	return 0;
}

/* Header, payload and the fd rule of a packet of N bytes. */
static int decode(const unsigned char *p, size_t n, int fd, struct ngsb_msg *m,
		  char *why, size_t whylen)
{
	const char *name;
	uint32_t vt, len;

	if (n < NGSB_HEADER_SIZE)
		return fail(EPROTO, why, whylen, "packet of %zu bytes, shorter than the header", n);
	if (le32_get(p) != NGSB_MAGIC)
		return fail(EPROTO, why, whylen, "bad magic 0x%08x", le32_get(p));
	vt = le32_get(p + 4);
	if ((vt & 0xffff) != NGSB_VERSION)
		return fail(EPROTO, why, whylen, "bad version %u", vt & 0xffff);
	m->type = vt >> 16;
	name = ngsb_type_name(m->type);
	if (m->type < NGSB_HELLO || m->type > NGSB_BYE)
		return fail(EPROTO, why, whylen, "unknown type %u", m->type);
	len = le32_get(p + 8);
	if (len != n)
		return fail(EPROTO, why, whylen, "length field %u in a %s packet of %zu bytes",
			    len, name, n);
	m->error = (int32_t)le32_get(p + 12);
	if (m->error < 0 || m->error > NGSB_ERRNO_MAX)
		return fail(EPROTO, why, whylen, "bad error %d in %s", m->error, name);
	if (m->error && !type_has_error(m->type))
		return fail(EPROTO, why, whylen, "nonzero error in %s", name);
	if (decode_payload(p + NGSB_HEADER_SIZE, n - NGSB_HEADER_SIZE, m, why, whylen))
		return EPROTO;
	if (fd >= 0 && (!type_has_fd(m->type) || m->error))
		return fail(EPROTO, why, whylen, "fd attached to %s%s", name,
			    m->error ? " with an error" : "");
	if (fd < 0 && type_has_fd(m->type) && !m->error)
		return fail(EPROTO, why, whylen, "%s without its fd", name);
	return 0;
}

/* ---------------------------------------------------------------- receive */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for a packet until DEADLINE (ms on CLOCK_MONOTONIC; -1: forever). */
static int wait_readable(int sock, int64_t deadline, char *why, size_t whylen)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int64_t left;
	int n;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		n = poll(&pfd, 1, deadline < 0 ? -1 : left < 0 ? 0 : (int)left);
		if (n > 0 && pfd.revents & POLLNVAL)
			return fail(EBADF, why, whylen, "socket not open");
		if (n > 0)
			return 0;
		if (n == 0)
			return fail(ETIMEDOUT, why, whylen, "no message in time");
		if (errno != EINTR)
			return fail(errno, why, whylen, "poll: %s", strerror(errno));
	}
}

/*
 * Take the fds out of the control data of MH: every one is closed unless it
 * is the single expected fd of an intact packet, which goes to *FDP.
 * Done before looking at anything else, so no error path leaks an fd.
 */
static int take_fds(struct msghdr *mh, int *fdp, char *why, size_t whylen)
{
	const char *end = (const char *)mh->msg_control + mh->msg_controllen;
	struct cmsghdr *c;
	int nfds = 0, foreign = 0, fd, keep = -1;
	size_t i, k;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0) || (const char *)c + c->cmsg_len > end) {
			foreign = 1;
			continue;
		}
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)	/* the -1 we pre-filled */
				continue;
			if (nfds++ == 0)
				keep = fd;
			else
				close(fd);
		}
	}
	if (!(nfds > 1 || foreign || mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		*fdp = keep;
		return 0;
	}
	if (keep >= 0)
		close(keep);
	if (mh->msg_flags & MSG_TRUNC)
		return fail(EPROTO, why, whylen, "packet over %d bytes (MSG_TRUNC)", NGSB_MAX_MSG);
	if (nfds > 1)
		return fail(EPROTO, why, whylen, "%d fds in one message", nfds);
	if (foreign)
		return fail(EPROTO, why, whylen, "control message other than SCM_RIGHTS");
	return fail(EPROTO, why, whylen,
		    "fd transfer cut short (MSG_CTRUNC: several fds or refused)");
}

int ngsb_recv(int sock, struct ngsb_msg *msg, int timeout_ms, char *why, size_t whylen)
{
	unsigned char buf[NGSB_MAX_MSG];
	/* room for exactly one fd: a second one makes MSG_CTRUNC */
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	const int none = -1;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh;
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	ssize_t n;
	int err, fd = -1;

	if (why && whylen)
		why[0] = 0;
	ngsb_init(msg, 0);
	for (;;) {
		err = wait_readable(sock, deadline, why, whylen);
		if (err)
			return err;
		memset(&ctl, 0, sizeof(ctl));
		memcpy(CMSG_DATA(&ctl.h), &none, sizeof(int));
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_LEN(sizeof(int));
		/* DONTWAIT: another reader may have taken the packet poll saw */
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n >= 0)
			break;
		err = errno;
		if (err != EINTR && err != EAGAIN && err != EWOULDBLOCK)
			return fail(err, why, whylen, "recvmsg: %s", strerror(err));
	}
	err = take_fds(&mh, &fd, why, whylen);
	if (!err && n == 0)	/* EOF, or an empty packet: as fatal */
		err = fail(ECONNRESET, why, whylen, "peer closed the connection");
	if (!err)
		err = decode(buf, n, fd, msg, why, whylen);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	msg->fd = fd;
	return 0;
}

/*
 * Copy the peer's BYE text into WHY for a terminal: only printable ASCII
 * survives (escape sequences, newlines and 8-bit C1 controls become '?').
 */
static void bye_text(const char *text, char *why, size_t whylen)
{
	size_t i;

	if (!why || !whylen)
		return;
	snprintf(why, whylen, "%s", text[0] ? text : "BYE without text");
	for (i = 0; why[i]; i++)
		if ((unsigned char)why[i] < 0x20 || (unsigned char)why[i] >= 0x7f)
			why[i] = '?';
}

int ngsb_expect(int sock, uint32_t type, struct ngsb_msg *msg, int timeout_ms,
		char *why, size_t whylen)
{
	uint32_t got;
	int err;

	err = ngsb_recv(sock, msg, timeout_ms, why, whylen);
	if (err)
		return err;
	got = msg->type;
	/* the server gave up: BYE instead, or the final BYE with an error */
	if (got == NGSB_BYE && (type != NGSB_BYE || msg->error)) {
		bye_text(msg->u.bye.text, why, whylen);
		return msg->error ? msg->error : EPROTO;
	}
	if (got != type) {
		if (msg->fd >= 0)
			close(msg->fd);
		msg->fd = -1;
		return fail(EPROTO, why, whylen, "expected %s, got %s",
			    ngsb_type_name(type), ngsb_type_name(got));
	}
	return 0;
}

int ngsb_refuse_fds(int sock)
{
	int off = 0;

	if (setsockopt(sock, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off)) == 0)
		return 0;
	/* kernels before 6.16 do not know the option */
	if (errno == ENOPROTOOPT || errno == EINVAL)
		return ENOPROTOOPT;
	return errno;
}
