/*
 * wire.c: framing over the SOCK_SEQPACKET socketpair that stands in for
 * /dev/fuse.  One packet is one message in each direction, as on the real
 * device: a request is fuse_in_header + args; a reply is fuse_out_header +
 * payload with unique = the request's; a notification has unique 0 and
 * error = the notify code.
 *
 * The daemon runs unmodified: `fuse2fs -f -o ... IMAGE /dev/fd/N`, with
 * LD_PRELOAD=devshim.so standing in for FUSE_DEV_IOC_IOMAP_DEV_ADD.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "wire.h"

char g_scenario[96] = "setup";
int g_verbose;
static struct conn *g_live;	/* killed on failure, so nothing hangs */

void fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "FAIL [%s] ", g_scenario);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (g_live && g_live->pid > 0) {
		kill(g_live->pid, SIGKILL);
		waitpid(g_live->pid, NULL, 0);
		g_live->pid = -1;
	}
	exit(1);
}

void note(const char *fmt, ...)
{
	va_list ap;

	printf("[%s] ", g_scenario);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

const char *opname(uint32_t op)
{
	static char buf[16];

	switch (op) {
	case FUSE_LOOKUP: return "LOOKUP";
	case FUSE_FORGET: return "FORGET";
	case FUSE_GETATTR: return "GETATTR";
	case FUSE_SETATTR: return "SETATTR";
	case FUSE_MKDIR: return "MKDIR";
	case FUSE_UNLINK: return "UNLINK";
	case FUSE_OPEN: return "OPEN";
	case FUSE_READ: return "READ";
	case FUSE_WRITE: return "WRITE";
	case FUSE_RELEASE: return "RELEASE";
	case FUSE_FSYNC: return "FSYNC";
	case FUSE_FLUSH: return "FLUSH";
	case FUSE_INIT: return "INIT";
	case FUSE_OPENDIR: return "OPENDIR";
	case FUSE_READDIR: return "READDIR";
	case FUSE_RELEASEDIR: return "RELEASEDIR";
	case FUSE_CREATE: return "CREATE";
	case FUSE_DESTROY: return "DESTROY";
	case FUSE_FALLOCATE: return "FALLOCATE";
	case FUSE_READDIRPLUS: return "READDIRPLUS";
	case FUSE_LSEEK: return "LSEEK";
	case W_FUSE_SYNCFS: return "SYNCFS";
	case W_FUSE_STATX: return "STATX";
	case W_FUSE_IOMAP_CONFIG: return "IOMAP_CONFIG";
	case W_FUSE_IOMAP_IOEND: return "IOMAP_IOEND";
	case W_FUSE_IOMAP_BEGIN: return "IOMAP_BEGIN";
	case W_FUSE_IOMAP_END: return "IOMAP_END";
	}
	snprintf(buf, sizeof(buf), "op%u", op);
	return buf;
}

void conn_start(struct conn *c, const char *fuse2fs, const char *shim, const char *image,
		const char *opts, const char *devfile, const char *errfile)
{
	int sv[2];
	pid_t pid;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pid = -1;
	c->unique = 1;
	snprintf(c->errfile, sizeof(c->errfile), "%s", errfile);
	c->bufsize = (8u << 20) + 4096;
	c->buf = malloc(c->bufsize);
	if (!c->buf)
		fail("out of memory");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair: %s", strerror(errno));
	/* Large writes (multi-MiB FUSE_WRITE in classic mode) need room. */
	for (int i = 0; i < 2; i++) {
		int sz = 16 << 20;
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (devfile)
		unlink(devfile);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		char fdpath[32], *argv[8];
		int n = 0, d, efd;

		d = dup(sv[1]);	/* without CLOEXEC */
		if (d < 0)
			_exit(126);
		efd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (efd >= 0) {
			dup2(efd, 2);
			close(efd);
		}
		snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", d);
		if (shim && *shim)
			setenv("LD_PRELOAD", shim, 1);
		if (devfile)
			setenv("NG_IOMAP_DEVFILE", devfile, 1);
		argv[n++] = (char *)fuse2fs;
		argv[n++] = "-f";
		if (opts && *opts) {
			argv[n++] = "-o";
			argv[n++] = (char *)opts;
		}
		argv[n++] = (char *)image;
		argv[n++] = fdpath;
		argv[n] = NULL;
		execv(fuse2fs, argv);
		fprintf(stderr, "exec %s: %s\n", fuse2fs, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	c->fd = sv[0];
	c->pid = pid;
	g_live = c;
}

static void dump_daemon_err(struct conn *c)
{
	FILE *f = fopen(c->errfile, "r");
	char line[1024];
	int n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n++ < 40)
		fprintf(stderr, "  daemon: %s", line);
	fclose(f);
}

/* Receive one packet into c->buf; returns its length. */
static size_t recv_packet(struct conn *c, const char *waiting_for)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&p, 1, 120 * 1000);
	if (r == 0)
		fail("no reply from the daemon in 120 s (waiting for %s)", waiting_for);
	if (r < 0)
		fail("poll: %s", strerror(errno));
	n = recv(c->fd, c->buf, c->bufsize, MSG_TRUNC);
	if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
		int st = 0;
		if (c->pid > 0 && waitpid(c->pid, &st, 0) == c->pid) {
			c->pid = -1;
			dump_daemon_err(c);
			if (WIFEXITED(st))
				fail("daemon exited (status %d) while we waited for %s",
				     WEXITSTATUS(st), waiting_for);
			fail("daemon died (signal %d) while we waited for %s", WTERMSIG(st),
			     waiting_for);
		}
		fail("daemon closed the connection while we waited for %s", waiting_for);
	}
	if (n < 0)
		fail("recv: %s", strerror(errno));
	if ((size_t)n > c->bufsize)
		fail("daemon sent a %zd-byte message, more than our %zu-byte buffer", n, c->bufsize);
	if ((size_t)n < sizeof(struct fuse_out_header))
		fail("daemon sent a %zd-byte message, shorter than fuse_out_header", n);
	return (size_t)n;
}

/* A notification: validate the header and hand it on. */
static void handle_notify(struct conn *c, size_t n)
{
	struct fuse_out_header *oh = (void *)c->buf;

	if (oh->len != n)
		fail("notification header len %u but packet has %zu bytes", oh->len, n);
	if (oh->error == W_NOTIFY_IOMAP_UPSERT)
		c->cnt.upsert++;
	else if (oh->error == W_NOTIFY_IOMAP_INVAL)
		c->cnt.inval++;
	if (!c->notify)
		fail("unexpected notification code %d (%zu bytes)", oh->error, n);
	c->notify(c->notify_ctx, oh->error, c->buf + sizeof(*oh), n - sizeof(*oh));
}

void conn_drain(struct conn *c)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		struct fuse_out_header *oh = (void *)c->buf;
		size_t n;

		if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
			return;
		n = recv_packet(c, "a notification");
		if (oh->unique != 0)
			fail("reply with unique %llu arrived with no request outstanding",
			     (unsigned long long)oh->unique);
		handle_notify(c, n);
	}
}

static void count_op(struct conn *c, uint32_t opcode)
{
	switch (opcode) {
	case W_FUSE_IOMAP_BEGIN: c->cnt.begin++; break;
	case W_FUSE_IOMAP_END: c->cnt.end++; break;
	case W_FUSE_IOMAP_IOEND: c->cnt.ioend++; break;
	case FUSE_READ: c->cnt.read++; break;
	case FUSE_WRITE: c->cnt.write++; break;
	default: c->cnt.other++; break;
	}
}

int conn_call(struct conn *c, uint32_t opcode, uint64_t nodeid, const void *in, size_t inlen,
	      const void *in2, size_t in2len, void *out, size_t outsz, size_t *outlen)
{
	struct fuse_in_header ih;
	struct fuse_out_header *oh = (void *)c->buf;
	struct iovec iov[3];
	struct msghdr mh;
	ssize_t w;
	size_t n, plen;
	uint64_t unique = ++c->unique;

	conn_drain(c);
	memset(&ih, 0, sizeof(ih));
	ih.len = sizeof(ih) + inlen + in2len;
	ih.opcode = opcode;
	ih.unique = unique;
	ih.nodeid = nodeid;
	ih.uid = 0;
	ih.gid = 0;
	ih.pid = getpid();
	iov[0].iov_base = &ih;
	iov[0].iov_len = sizeof(ih);
	iov[1].iov_base = (void *)in;
	iov[1].iov_len = inlen;
	iov[2].iov_base = (void *)in2;
	iov[2].iov_len = in2len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 3;
	count_op(c, opcode);
	w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	if (w < 0)
		fail("sending %s: %s", opname(opcode), strerror(errno));
	if ((size_t)w != ih.len)
		fail("sending %s: short send %zd of %u", opname(opcode), w, ih.len);
	if (opcode == FUSE_FORGET)
		return 0;	/* no reply */
	for (;;) {
		n = recv_packet(c, opname(opcode));
		if (oh->unique == 0) {
			handle_notify(c, n);
			continue;
		}
		if (oh->unique != unique)
			fail("%s: reply for unique %llu, expected %llu", opname(opcode),
			     (unsigned long long)oh->unique, (unsigned long long)unique);
		break;
	}
	if (oh->len != n)
		fail("%s: out header len %u, packet %zu bytes", opname(opcode), oh->len, n);
	plen = n - sizeof(*oh);
	if (oh->error > 0 || oh->error < -4095)
		fail("%s: reply error %d is not 0 or a negative errno", opname(opcode), oh->error);
	if (oh->error) {
		if (plen)
			fail("%s: error reply %d carries %zu payload bytes", opname(opcode),
			     oh->error, plen);
		if (outlen)
			*outlen = 0;
		return oh->error;
	}
	if (plen > outsz)
		fail("%s: reply payload %zu bytes, more than the %zu the kernel expects",
		     opname(opcode), plen, outsz);
	if (plen)
		memcpy(out, c->buf + sizeof(*oh), plen);
	if (outlen)
		*outlen = plen;
	return 0;
}

/*
 * Pipelining, as a kernel with several callers does: conn_send puts a
 * request on the wire with the caller's unique and returns; conn_recv
 * returns the next reply (notifications go to c->notify), whichever request
 * it answers: its unique in *unique, its error as the return value, the
 * payload in c->buf + sizeof(struct fuse_out_header), its length in *plen.
 */
void conn_send(struct conn *c, uint64_t unique, uint32_t opcode, uint64_t nodeid,
	       const void *in, size_t inlen)
{
	struct fuse_in_header ih;
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t w;

	memset(&ih, 0, sizeof(ih));
	ih.len = sizeof(ih) + inlen;
	ih.opcode = opcode;
	ih.unique = unique;
	ih.nodeid = nodeid;
	ih.pid = getpid();
	iov[0] = (struct iovec){ &ih, sizeof(ih) };
	iov[1] = (struct iovec){ (void *)in, inlen };
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	count_op(c, opcode);
	w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	if (w != (ssize_t)ih.len)
		fail("sending %s: %s", opname(opcode), w < 0 ? strerror(errno) : "short send");
}

int conn_recv(struct conn *c, uint64_t *unique, size_t *plen)
{
	struct fuse_out_header *oh = (void *)c->buf;
	size_t n;

	for (;;) {
		n = recv_packet(c, "a pipelined reply");
		if (oh->unique)
			break;
		handle_notify(c, n);
	}
	if (oh->len != n)
		fail("out header len %u, packet %zu bytes", oh->len, n);
	if (oh->error > 0 || oh->error < -4095)
		fail("reply error %d is not 0 or a negative errno", oh->error);
	*unique = oh->unique;
	*plen = n - sizeof(*oh);
	return oh->error;
}

int conn_call_exact(struct conn *c, uint32_t opcode, uint64_t nodeid, const void *in,
		    size_t inlen, const void *in2, size_t in2len, void *out, size_t outsz)
{
	size_t got;
	int err;

	err = conn_call(c, opcode, nodeid, in, inlen, in2, in2len, out, outsz, &got);
	if (!err && got != outsz)
		fail("%s on node %llu: reply payload %zu bytes, expected exactly %zu (kernel: EINVAL)",
		     opname(opcode), (unsigned long long)nodeid, got, outsz);
	return err;
}

int conn_finish(struct conn *c, int timeout_s)
{
	int st = 0, i;
	pid_t r = 0;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	if (c->pid <= 0)
		return c->daemon_status;
	for (i = 0; i < timeout_s * 10; i++) {
		r = waitpid(c->pid, &st, WNOHANG);
		if (r == c->pid)
			break;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (r != c->pid) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &st, 0);
		c->pid = -1;
		fail("daemon did not exit within %d s after the socket was closed", timeout_s);
	}
	c->pid = -1;
	g_live = NULL;
	c->daemon_status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
	return c->daemon_status;
}

long long daemon_counter(const char *errfile, const char *key)
{
	FILE *f = fopen(errfile, "r");
	char line[4096];
	long long v = -1;
	size_t kl = strlen(key);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p;
		if (strncmp(line, "fuse2fs: counters:", 18))
			continue;
		for (p = line + 18; (p = strstr(p, key)); p += kl) {
			if ((p[-1] == ' ' || p[-1] == ':' || p[-1] == ',') && p[kl] == '=') {
				v = strtoll(p + kl + 1, NULL, 10);
				break;
			}
		}
	}
	fclose(f);
	return v;
}
