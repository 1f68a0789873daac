/*
 * proto-test: unit test of lib/sandbox/proto.c over a socketpair.
 * Round-trips every message, then feeds the receiver hand-made malformed
 * packets (our own sendmsg) and checks each is EPROTO with every fd that
 * came along closed.  One line per check, "ok - ..." or "not ok - ...";
 * exit 0 when all pass, 1 otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "sandbox/proto.h"

static int nchecks, nfailed;
static int sv[2];		/* sv[0] sends, sv[1] receives */

static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	nchecks++;
	if (!cond)
		nfailed++;
	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		die("/proc/self/fd");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static void new_pair(void)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
}

static void close_pair(void)
{
	close(sv[0]);
	close(sv[1]);
}

static const char *ename(int err)
{
	return err ? strerror(err) : "0";
}

/* ---------------------------------------------------------- raw packets */

struct pkt {
	unsigned char b[2 * NGSB_MAX_MSG];
	size_t n;
};

static void p32(struct pkt *p, uint32_t v)
{
	p->b[p->n++] = v;
	p->b[p->n++] = v >> 8;
	p->b[p->n++] = v >> 16;
	p->b[p->n++] = v >> 24;
}

static void p64(struct pkt *p, uint64_t v)
{
	p32(p, (uint32_t)v);
	p32(p, (uint32_t)(v >> 32));
}

/* LEN raw bytes of S, zero-padded to 4. */
static void pstr(struct pkt *p, const char *s, size_t len)
{
	memcpy(p->b + p->n, s, len);
	p->n += len;
	while (p->n % 4)
		p->b[p->n++] = 0;
}

/* A header with the given fields; pend() fills in the length. */
static struct pkt *phdr(struct pkt *p, uint32_t magic, uint16_t version, uint16_t type,
			int32_t error)
{
	p->n = 0;
	p32(p, magic);
	p32(p, version | (uint32_t)type << 16);
	p32(p, 0);
	p32(p, (uint32_t)error);
	return p;
}

static struct pkt *pbegin(struct pkt *p, uint16_t type, int32_t error)
{
	return phdr(p, NGSB_MAGIC, NGSB_VERSION, type, error);
}

static void pset_len(struct pkt *p, uint32_t len)
{
	struct pkt q = { .n = 0 };

	p32(&q, len);
	memcpy(p->b + 8, q.b, 4);
}

static void pend(struct pkt *p)
{
	pset_len(p, p->n);
}

static int raw_send(const void *buf, size_t len, const int *fds, int nfds)
{
	char ctl[CMSG_SPACE(2 * sizeof(int))] __attribute__((aligned(8)));
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfds) {
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	return sendmsg(sv[0], &mh, MSG_NOSIGNAL) < 0 ? errno : 0;
}

/*
 * Send P with NFDS pipe fds, receive: expect WANT (and WHY_HAS in the text
 * when not NULL), no fd returned, and as many fds open afterwards as
 * before (the received copies were closed).
 */
static void expect_bad_why(const char *what, struct pkt *p, int nfds, int want,
			   const char *why_has)
{
	struct ngsb_msg m;
	char why[256] = "";
	int pfd[2], before, err;

	if (pipe(pfd) < 0)
		die("pipe");
	before = count_fds();
	err = raw_send(p->b, p->n, pfd, nfds);
	if (err) {
		check(0, "%s: raw send failed: %s", what, strerror(err));
	} else {
		err = ngsb_recv(sv[1], &m, 1000, why, sizeof(why));
		check(err == want && m.fd == -1 && count_fds() == before &&
		      (!why_has || strstr(why, why_has)),
		      "%s -> %s (%s)%s", what, ename(err), why,
		      count_fds() == before ? "" : " FD LEAKED");
	}
	close(pfd[0]);
	close(pfd[1]);
}

static void expect_bad(const char *what, struct pkt *p, int nfds, int want)
{
	expect_bad_why(what, p, nfds, want, NULL);
}

/* ---------------------------------------------------------- round trips */

static int send_recv(struct ngsb_msg *out, struct ngsb_msg *in)
{
	char why[256] = "";
	int err = ngsb_send(sv[0], out);

	if (err) {
		printf("# send %s: %s\n", ngsb_type_name(out->type), strerror(err));
		return err;
	}
	err = ngsb_recv(sv[1], in, 1000, why, sizeof(why));
	if (err)
		printf("# recv %s: %s (%s)\n", ngsb_type_name(out->type), strerror(err), why);
	return err;
}

/* The received fd is the pipe end sent, and close-on-exec. */
static int same_file(int a, int b)
{
	struct stat sa, sb;

	if (b < 0 || fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return 0;
	return S_ISFIFO(sb.st_mode) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
	       (fcntl(b, F_GETFD) & FD_CLOEXEC);
}

static void round_trip_fd(uint32_t type, uint32_t flags)
{
	struct ngsb_msg out, in;
	int pfd[2], err;

	if (pipe(pfd) < 0)
		die("pipe");
	ngsb_init(&out, type);
	out.u.device.flags = flags;
	out.fd = pfd[1];
	err = send_recv(&out, &in);
	check(!err && in.type == type && in.error == 0 && same_file(pfd[1], in.fd) &&
	      (type != NGSB_DEVICE || in.u.device.flags == flags),
	      "round trip %s with a pipe fd (fstat matches, O_CLOEXEC)", ngsb_type_name(type));
	if (in.fd >= 0)
		close(in.fd);
	close(pfd[0]);
	close(pfd[1]);

	ngsb_init(&out, type);
	out.error = EACCES;
	err = send_recv(&out, &in);
	check(!err && in.type == type && in.error == EACCES && in.fd == -1,
	      "round trip %s with error EACCES and no fd", ngsb_type_name(type));
}

static void round_trips(void)
{
	struct ngsb_msg out, in;
	int err;

	ngsb_init(&out, NGSB_HELLO);
	out.u.hello.min_version = 1;
	out.u.hello.max_version = 3;
	out.u.hello.flags = NGSB_HELLO_ROOT;
	out.u.hello.uid = 1000;
	out.u.hello.gid = 0xfffffffe;
	err = send_recv(&out, &in);
	check(!err && in.type == NGSB_HELLO && in.fd == -1 && in.u.hello.min_version == 1 &&
	      in.u.hello.max_version == 3 && in.u.hello.flags == NGSB_HELLO_ROOT &&
	      in.u.hello.uid == 1000 && in.u.hello.gid == 0xfffffffe, "round trip HELLO");

	ngsb_init(&out, NGSB_HELLO_REPLY);
	out.u.hello_reply.version = 1;
	err = send_recv(&out, &in);
	check(!err && in.type == NGSB_HELLO_REPLY && in.u.hello_reply.version == 1,
	      "round trip HELLO_REPLY");

	ngsb_init(&out, NGSB_ARGS);
	strcpy(out.u.args.source, "/dev/sdb1");
	strcpy(out.u.args.options, "rw,noatime,errors=remount-ro");
	err = send_recv(&out, &in);
	check(!err && in.type == NGSB_ARGS && !strcmp(in.u.args.source, "/dev/sdb1") &&
	      !strcmp(in.u.args.options, "rw,noatime,errors=remount-ro"), "round trip ARGS");

	/* the longest strings allowed: the largest packet there is */
	memset(out.u.args.source, 'a', NGSB_PATH_MAX - 1);
	out.u.args.source[NGSB_PATH_MAX - 1] = 0;
	memset(out.u.args.options, 'o', NGSB_OPTS_MAX - 1);
	out.u.args.options[NGSB_OPTS_MAX - 1] = 0;
	err = send_recv(&out, &in);
	check(!err && !memcmp(in.u.args.source, out.u.args.source, NGSB_PATH_MAX) &&
	      !memcmp(in.u.args.options, out.u.args.options, NGSB_OPTS_MAX),
	      "round trip ARGS with strings of the maximum length");

	ngsb_init(&out, NGSB_ARGS);	/* empty strings: length 1 */
	err = send_recv(&out, &in);
	check(!err && !in.u.args.source[0] && !in.u.args.options[0],
	      "round trip ARGS with empty strings");

	ngsb_init(&out, NGSB_OPEN_DEVICE);
	out.u.open_device.flags = NGSB_DEV_RW;
	err = send_recv(&out, &in);
	check(!err && in.type == NGSB_OPEN_DEVICE && in.u.open_device.flags == NGSB_DEV_RW,
	      "round trip OPEN_DEVICE");

	round_trip_fd(NGSB_DEVICE, NGSB_DEV_RW);
	round_trip_fd(NGSB_DEVICE, 0);

	ngsb_init(&out, NGSB_MOUNT);
	out.u.mount.ms_flags = 0x8000000000000006ULL;
	strcpy(out.u.mount.fstype, "fuseblk.ext4");
	strcpy(out.u.mount.data, "fd=3,rootmode=40000,user_id=0,group_id=0");
	err = send_recv(&out, &in);
	check(!err && in.type == NGSB_MOUNT && in.u.mount.ms_flags == 0x8000000000000006ULL &&
	      !strcmp(in.u.mount.fstype, "fuseblk.ext4") &&
	      !strcmp(in.u.mount.data, "fd=3,rootmode=40000,user_id=0,group_id=0"),
	      "round trip MOUNT (64-bit ms_flags)");

	round_trip_fd(NGSB_FUSE_DEV, 0);

	ngsb_init(&out, NGSB_BYE);
	err = send_recv(&out, &in);
	check(!err && in.type == NGSB_BYE && in.error == 0 && !in.u.bye.text[0],
	      "round trip BYE {0}");
	out.error = EUCLEAN;
	memset(out.u.bye.text, 't', NGSB_TEXT_MAX - 1);
	err = send_recv(&out, &in);
	check(!err && in.error == EUCLEAN && strlen(in.u.bye.text) == NGSB_TEXT_MAX - 1,
	      "round trip BYE with an error and a text of the maximum length");
}

/* ---------------------------------------------------------- send side */

static void send_side(void)
{
	struct ngsb_msg m, in;
	int pfd[2];

	if (pipe(pfd) < 0)
		die("pipe");
	ngsb_init(&m, NGSB_HELLO);
	m.u.hello.min_version = m.u.hello.max_version = 1;
	m.fd = pfd[0];
	check(ngsb_send(sv[0], &m) == EINVAL, "send: fd on HELLO -> EINVAL");
	ngsb_init(&m, NGSB_BYE);
	m.fd = pfd[0];
	check(ngsb_send(sv[0], &m) == EINVAL, "send: fd on BYE -> EINVAL");
	ngsb_init(&m, NGSB_DEVICE);
	check(ngsb_send(sv[0], &m) == EINVAL, "send: DEVICE error 0 without fd -> EINVAL");
	m.error = EIO;
	m.fd = pfd[0];
	check(ngsb_send(sv[0], &m) == EINVAL, "send: DEVICE with error and fd -> EINVAL");
	ngsb_init(&m, NGSB_MOUNT);
	m.error = EIO;
	check(ngsb_send(sv[0], &m) == EINVAL, "send: error on MOUNT -> EINVAL");
	ngsb_init(&m, NGSB_BYE);
	m.error = -5;
	check(ngsb_send(sv[0], &m) == EINVAL, "send: negative error -> EINVAL");
	ngsb_init(&m, 9);
	check(ngsb_send(sv[0], &m) == EINVAL, "send: unknown type -> EINVAL");
	ngsb_init(&m, NGSB_OPEN_DEVICE);
	m.u.open_device.flags = 2;
	check(ngsb_send(sv[0], &m) == EINVAL, "send: unknown OPEN_DEVICE flag -> EINVAL");
	ngsb_init(&m, NGSB_HELLO);
	m.u.hello.flags = 0x80;
	check(ngsb_send(sv[0], &m) == EINVAL, "send: unknown HELLO flag -> EINVAL");
	ngsb_init(&m, NGSB_ARGS);
	memset(m.u.args.source, 'x', NGSB_PATH_MAX);
	check(ngsb_send(sv[0], &m) == EMSGSIZE, "send: ARGS source too long -> EMSGSIZE");
	ngsb_init(&m, NGSB_ARGS);
	memset(m.u.args.options, 'x', NGSB_OPTS_MAX);
	check(ngsb_send(sv[0], &m) == EMSGSIZE, "send: ARGS options too long -> EMSGSIZE");
	ngsb_init(&m, NGSB_MOUNT);
	memset(m.u.mount.fstype, 'x', NGSB_FSTYPE_MAX);
	check(ngsb_send(sv[0], &m) == EMSGSIZE, "send: MOUNT fstype too long -> EMSGSIZE");
	ngsb_init(&m, NGSB_BYE);
	memset(m.u.bye.text, 'x', NGSB_TEXT_MAX);
	check(ngsb_send(sv[0], &m) == EMSGSIZE, "send: BYE text too long -> EMSGSIZE");
	check(ngsb_recv(sv[1], &in, 0, NULL, 0) == ETIMEDOUT,
	      "send: none of the refused messages reached the socket");
	close(pfd[0]);
	close(pfd[1]);
}

/* ---------------------------------------------------------- malformed */

static void bad_args(const char *what, int want, uint32_t slen, const char *s, size_t sbytes,
		     uint32_t olen, const char *o, size_t obytes)
{
	struct pkt p;

	pbegin(&p, NGSB_ARGS, 0);
	p32(&p, slen);
	p32(&p, olen);
	pstr(&p, s, sbytes);
	pstr(&p, o, obytes);
	pend(&p);
	expect_bad(what, &p, 0, want);
}

/* A fixed 8-byte payload (two words) of TYPE with ERROR and NFDS fds. */
static void bad_fixed(const char *what, uint16_t type, int32_t error, uint32_t w0,
		      uint32_t w1, int nfds, int want)
{
	struct pkt p;

	pbegin(&p, type, error);
	p32(&p, w0);
	p32(&p, w1);
	pend(&p);
	expect_bad(what, &p, nfds, want);
}

static void bad_hello(const char *what, int32_t error, uint32_t flags, uint32_t rsv, int nfds)
{
	struct pkt p;

	pbegin(&p, NGSB_HELLO, error);
	p32(&p, 1);
	p32(&p, 1);
	p32(&p, flags);
	p32(&p, 0);
	p32(&p, 0);
	p32(&p, rsv);
	pend(&p);
	expect_bad(what, &p, nfds, EPROTO);
}

static void malformed_header(void)
{
	struct pkt p;

	pbegin(&p, NGSB_HELLO, 0);
	p.n = 8;
	expect_bad("8-byte packet (shorter than the header)", &p, 0, EPROTO);
	pbegin(&p, NGSB_HELLO, 0);
	p32(&p, 1);
	pend(&p);
	expect_bad("HELLO of 20 bytes (shorter than its payload)", &p, 0, EPROTO);
	pbegin(&p, NGSB_OPEN_DEVICE, 0);
	pend(&p);
	expect_bad("OPEN_DEVICE with only a header", &p, 0, EPROTO);

	bad_fixed("good OPEN_DEVICE (the fixture works)", NGSB_OPEN_DEVICE, 0, 0, 0, 0, 0);
	phdr(&p, 0x4253474f, NGSB_VERSION, NGSB_OPEN_DEVICE, 0);
	p64(&p, 0);
	pend(&p);
	expect_bad("bad magic", &p, 0, EPROTO);
	phdr(&p, NGSB_MAGIC, 2, NGSB_OPEN_DEVICE, 0);
	p64(&p, 0);
	pend(&p);
	expect_bad("version 2", &p, 0, EPROTO);
	phdr(&p, NGSB_MAGIC, 0, NGSB_OPEN_DEVICE, 0);
	p64(&p, 0);
	pend(&p);
	expect_bad("version 0", &p, 0, EPROTO);
	bad_fixed("type 0", 0, 0, 0, 0, 0, EPROTO);
	bad_fixed("type 9", 9, 0, 0, 0, 0, EPROTO);
	bad_fixed("type 0xffff", 0xffff, 0, 0, 0, 0, EPROTO);

	pbegin(&p, NGSB_OPEN_DEVICE, 0);
	p64(&p, 0);
	pset_len(&p, p.n + 4);
	expect_bad("length field larger than the packet", &p, 0, EPROTO);
	pset_len(&p, p.n - 4);
	expect_bad("length field smaller than the packet", &p, 0, EPROTO);
	pset_len(&p, 0);
	expect_bad("length field 0", &p, 0, EPROTO);
	pbegin(&p, NGSB_OPEN_DEVICE, 0);
	p64(&p, 0);
	p32(&p, 0);
	pend(&p);
	expect_bad("OPEN_DEVICE with 4 trailing bytes", &p, 0, EPROTO);

	pbegin(&p, NGSB_DEVICE, 0);
	memset(p.b + p.n, 0, NGSB_MAX_MSG + 64 - p.n);
	p.n = NGSB_MAX_MSG + 64;
	pend(&p);
	expect_bad_why("oversize packet with an fd (MSG_TRUNC, fd closed)", &p, 1, EPROTO,
		       "MSG_TRUNC");
}

static void malformed_payload(void)
{
	struct pkt p;

	bad_args("good ARGS (the fixture works)", 0, 4, "abc", 4, 2, "o", 2);
	bad_args("ARGS source string without NUL", EPROTO, 4, "abcd", 4, 2, "o", 2);
	bad_args("ARGS options string without NUL", EPROTO, 4, "abc", 4, 2, "oo", 2);
	bad_args("ARGS NUL inside the source string", EPROTO, 5, "ab\0d", 5, 2, "o", 2);
	bad_args("ARGS source length 0", EPROTO, 0, "", 0, 2, "o", 2);
	bad_args("ARGS options length 0", EPROTO, 4, "abc", 4, 0, "", 0);
	bad_args("ARGS source length NGSB_PATH_MAX + 1", EPROTO, NGSB_PATH_MAX + 1, "abc", 4,
		 2, "o", 2);
	bad_args("ARGS options length NGSB_OPTS_MAX + 1", EPROTO, 4, "abc", 4,
		 NGSB_OPTS_MAX + 1, "o", 2);
	bad_args("ARGS source length 0xffffffff", EPROTO, 0xffffffff, "abc", 4, 2, "o", 2);
	bad_args("ARGS source length past the packet", EPROTO, 400, "abc", 4, 2, "o", 2);
	bad_args("ARGS nonzero padding", EPROTO, 2, "a\0\0x", 4, 2, "o", 2);
	bad_args("ARGS nonzero padding after options", EPROTO, 4, "abc", 4, 2, "o\0x", 3);

	pbegin(&p, NGSB_ARGS, 0);
	p32(&p, 4);
	p32(&p, 2);
	pstr(&p, "abc", 4);
	pend(&p);
	expect_bad("ARGS without its options string", &p, 0, EPROTO);

	pbegin(&p, NGSB_MOUNT, 0);
	p64(&p, 0);
	p32(&p, NGSB_FSTYPE_MAX + 1);
	p32(&p, 2);
	pstr(&p, "fuse", 5);
	pstr(&p, "o", 2);
	pend(&p);
	expect_bad("MOUNT fstype length NGSB_FSTYPE_MAX + 1", &p, 0, EPROTO);
	pbegin(&p, NGSB_MOUNT, 0);
	p64(&p, 0);
	p32(&p, 5);
	p32(&p, 3);
	pstr(&p, "fuse", 5);
	pstr(&p, "abc", 3);
	pend(&p);
	expect_bad("MOUNT data string without NUL", &p, 0, EPROTO);
	pbegin(&p, NGSB_MOUNT, 0);
	p32(&p, 0);
	pend(&p);
	expect_bad("MOUNT cut inside ms_flags", &p, 0, EPROTO);

	pbegin(&p, NGSB_BYE, 0);
	p32(&p, NGSB_TEXT_MAX + 1);
	p32(&p, 0);
	pstr(&p, "x", 2);
	pend(&p);
	expect_bad("BYE text length NGSB_TEXT_MAX + 1", &p, 0, EPROTO);
	pbegin(&p, NGSB_BYE, 0);
	p32(&p, 2);
	p32(&p, 7);
	pstr(&p, "x", 2);
	pend(&p);
	expect_bad("BYE nonzero reserved field", &p, 0, EPROTO);

	bad_hello("HELLO nonzero reserved field", 0, 0, 1, 0);
	bad_hello("HELLO unknown flag bit 1", 0, 2, 0, 0);
	bad_hello("HELLO unknown flag bit 31", 0, 0x80000000, 0, 0);
	bad_fixed("HELLO_REPLY nonzero reserved field", NGSB_HELLO_REPLY, 0, 1, 1, 0, EPROTO);
	bad_fixed("OPEN_DEVICE nonzero reserved field", NGSB_OPEN_DEVICE, 0, 0, 1, 0, EPROTO);
	bad_fixed("OPEN_DEVICE unknown flag", NGSB_OPEN_DEVICE, 0, 4, 0, 0, EPROTO);
	bad_fixed("DEVICE unknown flag (fd closed)", NGSB_DEVICE, 0, 2, 0, 1, EPROTO);
	bad_fixed("DEVICE nonzero reserved field (fd closed)", NGSB_DEVICE, 0, 0, 1, 1, EPROTO);
	bad_fixed("FUSE_DEV nonzero first reserved field", NGSB_FUSE_DEV, 0, 1, 0, 1, EPROTO);
	bad_fixed("FUSE_DEV nonzero second reserved field", NGSB_FUSE_DEV, 0, 0, 1, 1, EPROTO);
}

static void malformed_error_fd(void)
{
	struct pkt p;

	bad_hello("HELLO with error EIO", EIO, 0, 0, 0);
	bad_fixed("HELLO_REPLY with error EIO", NGSB_HELLO_REPLY, EIO, 1, 0, 0, EPROTO);
	bad_fixed("OPEN_DEVICE with error EIO", NGSB_OPEN_DEVICE, EIO, 0, 0, 0, EPROTO);
	pbegin(&p, NGSB_ARGS, EPERM);
	p32(&p, 4);
	p32(&p, 2);
	pstr(&p, "abc", 4);
	pstr(&p, "o", 2);
	pend(&p);
	expect_bad("ARGS with error EPERM", &p, 0, EPROTO);
	pbegin(&p, NGSB_BYE, -1);
	p32(&p, 1);
	p32(&p, 0);
	pstr(&p, "", 1);
	pend(&p);
	expect_bad("BYE with error -1", &p, 0, EPROTO);
	pbegin(&p, NGSB_BYE, 4096);
	p32(&p, 1);
	p32(&p, 0);
	pstr(&p, "", 1);
	pend(&p);
	expect_bad("BYE with error 4096", &p, 0, EPROTO);

	bad_hello("HELLO with an fd (fd closed)", 0, 0, 0, 1);
	bad_fixed("OPEN_DEVICE with an fd (fd closed)", NGSB_OPEN_DEVICE, 0, 0, 0, 1, EPROTO);
	pbegin(&p, NGSB_BYE, 0);
	p32(&p, 1);
	p32(&p, 0);
	pstr(&p, "", 1);
	pend(&p);
	expect_bad("BYE with an fd (fd closed)", &p, 1, EPROTO);

	bad_fixed("DEVICE error 0 without fd", NGSB_DEVICE, 0, 0, 0, 0, EPROTO);
	bad_fixed("FUSE_DEV error 0 without fd", NGSB_FUSE_DEV, 0, 0, 0, 0, EPROTO);
	bad_fixed("DEVICE error EACCES with an fd (fd closed)", NGSB_DEVICE, EACCES, 0, 0, 1,
		  EPROTO);
	bad_fixed("FUSE_DEV error ENODEV with an fd (fd closed)", NGSB_FUSE_DEV, ENODEV, 0, 0, 1,
		  EPROTO);
	/* the receiver has room for one fd only: the kernel closes the second */
	pbegin(&p, NGSB_DEVICE, 0);
	p64(&p, 0);
	pend(&p);
	expect_bad_why("DEVICE with 2 fds (MSG_CTRUNC, both closed)", &p, 2, EPROTO, "MSG_CTRUNC");
	bad_fixed("HELLO_REPLY with 2 fds (both closed)", NGSB_HELLO_REPLY, 0, 1, 0, 2, EPROTO);

	p.n = 0;
	expect_bad("empty packet -> ECONNRESET", &p, 0, ECONNRESET);
	expect_bad("empty packet with an fd -> ECONNRESET (fd closed)", &p, 1, ECONNRESET);
}

static void malformed(void)
{
	struct ngsb_msg out, in;
	int start = count_fds();

	malformed_header();
	malformed_payload();
	malformed_error_fd();

	ngsb_init(&out, NGSB_HELLO_REPLY);
	out.u.hello_reply.version = 1;
	check(!send_recv(&out, &in) && in.type == NGSB_HELLO_REPLY,
	      "after the malformed packets the next good message is received");
	check(count_fds() == start, "no fd leaked by the malformed section (%d -> %d)",
	      start, count_fds());
}

/* ---------------------------------------------------------- expect, EOF, timeout */

static void expect_cases(void)
{
	struct ngsb_msg out, in;
	char why[256];
	int pfd[2], before, err;

	ngsb_init(&out, NGSB_BYE);
	out.error = EROFS;
	strcpy(out.u.bye.text, "image has errors: read-only");
	ngsb_send(sv[0], &out);
	err = ngsb_expect(sv[1], NGSB_MOUNT, &in, 1000, why, sizeof(why));
	check(err == EROFS && !strcmp(why, "image has errors: read-only"),
	      "expect MOUNT, got BYE {EROFS, text} -> EROFS with the text (%s)", why);

	ngsb_init(&out, NGSB_BYE);
	strcpy(out.u.bye.text, "bad\033[2Jtext\n");
	ngsb_send(sv[0], &out);
	err = ngsb_expect(sv[1], NGSB_MOUNT, &in, 1000, why, sizeof(why));
	check(err == EPROTO && !strcmp(why, "bad?[2Jtext?"),
	      "expect MOUNT, got BYE {0} -> EPROTO, control characters of the text masked (%s)",
	      why);

	ngsb_init(&out, NGSB_BYE);
	ngsb_send(sv[0], &out);
	err = ngsb_expect(sv[1], NGSB_BYE, &in, 1000, why, sizeof(why));
	check(err == 0 && in.type == NGSB_BYE, "expect BYE, got BYE {0} -> 0");

	ngsb_init(&out, NGSB_BYE);
	out.error = ENOSPC;
	ngsb_send(sv[0], &out);
	err = ngsb_expect(sv[1], NGSB_BYE, &in, 1000, why, sizeof(why));
	check(err == ENOSPC, "expect BYE, got BYE {ENOSPC} -> ENOSPC (%s)", why);

	ngsb_init(&out, NGSB_HELLO_REPLY);
	out.u.hello_reply.version = 1;
	ngsb_send(sv[0], &out);
	err = ngsb_expect(sv[1], NGSB_OPEN_DEVICE, &in, 1000, why, sizeof(why));
	check(err == EPROTO, "expect OPEN_DEVICE, got HELLO_REPLY -> EPROTO (%s)", why);

	if (pipe(pfd) < 0)
		die("pipe");
	before = count_fds();
	ngsb_init(&out, NGSB_FUSE_DEV);
	out.fd = pfd[0];
	ngsb_send(sv[0], &out);
	err = ngsb_expect(sv[1], NGSB_DEVICE, &in, 1000, why, sizeof(why));
	check(err == EPROTO && in.fd == -1 && count_fds() == before,
	      "expect DEVICE, got FUSE_DEV with fd -> EPROTO, fd closed (%s)", why);
	close(pfd[0]);
	close(pfd[1]);
	check(!strcmp(ngsb_type_name(NGSB_FUSE_DEV), "FUSE_DEV") &&
	      !strcmp(ngsb_type_name(0), "unknown") && !strcmp(ngsb_type_name(99), "unknown"),
	      "ngsb_type_name");
}

static long elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void timeout_eof(void)
{
	struct ngsb_msg in;
	struct timespec t0;
	char why[256];
	long ms;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = ngsb_recv(sv[1], &in, 100, why, sizeof(why));
	ms = elapsed_ms(&t0);
	check(err == ETIMEDOUT && ms >= 95 && ms < 2000,
	      "nothing sent, 100 ms timeout -> ETIMEDOUT after %ld ms", ms);
	err = ngsb_recv(sv[1], &in, 0, why, sizeof(why));
	check(err == ETIMEDOUT, "timeout 0 on an empty socket -> ETIMEDOUT");
	close(sv[0]);
	err = ngsb_recv(sv[1], &in, 1000, why, sizeof(why));
	check(err == ECONNRESET, "peer closed -> ECONNRESET (%s)", why);
	ngsb_init(&in, NGSB_HELLO_REPLY);
	in.u.hello_reply.version = 1;
	err = ngsb_send(sv[1], &in);
	check(err == EPIPE || err == ECONNRESET, "send to a closed peer -> %s, no SIGPIPE",
	      ename(err));
	close(sv[1]);
}

static void passrights(void)
{
	struct ngsb_msg out, in;
	int pfd[2], err;

	if (pipe(pfd) < 0)
		die("pipe");
	err = ngsb_refuse_fds(pfd[0]);
	check(err == ENOTSOCK, "ngsb_refuse_fds on a pipe -> %s", ename(err));
	close(pfd[0]);
	close(pfd[1]);
	new_pair();
	err = ngsb_refuse_fds(sv[1]);
	if (err == ENOPROTOOPT) {
		check(1, "# SKIP SO_PASSRIGHTS: kernel before 6.16");
		close_pair();
		return;
	}
	check(err == 0, "ngsb_refuse_fds -> %s", ename(err));
	if (pipe(pfd) < 0)
		die("pipe");
	ngsb_init(&out, NGSB_DEVICE);
	out.fd = pfd[0];
	err = ngsb_send(sv[0], &out);
	check(err == EPERM, "DEVICE with fd to a socket refusing fds -> %s", ename(err));
	ngsb_init(&out, NGSB_DEVICE);
	out.error = EACCES;
	err = send_recv(&out, &in);
	check(!err && in.error == EACCES, "DEVICE without fd still goes through");
	close(pfd[0]);
	close(pfd[1]);
	close_pair();
}

int main(void)
{
	int start = count_fds();

	new_pair();
	round_trips();
	send_side();
	malformed();
	expect_cases();
	timeout_eof();
	passrights();
	check(count_fds() == start, "no fd leaked by the whole program (%d -> %d)", start,
	      count_fds());
	printf("# %d checks, %d failed\n", nchecks, nfailed);
	return nfailed ? 1 : 0;
}
