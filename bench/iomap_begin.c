/*
 * iomap_begin: how many FUSE_IOMAP_BEGIN requests per second the daemon
 * answers, and (as the reference) how many single-extent FIEMAP lookups per
 * second kernel ext4 answers on the same file.
 *
 *   iomap_begin daemon FUSE2FS SHIM IMAGE NAME COUNT   (through a socketpair)
 *   iomap_begin fiemap PATH COUNT                      (kernel ext4 mount)
 *
 * The daemon side plays the kernel's part just far enough: INIT offering
 * iomap, IOMAP_CONFIG, LOOKUP of NAME in the root, then COUNT read-mapping
 * requests at random block offsets inside the file.  Notifications (the
 * daemon's cache upserts) are read and skipped.  Standalone on purpose: the
 * bench must not depend on the test client's internals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OP_IOMAP_CONFIG 4092
#define OP_IOMAP_BEGIN 4094

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
	fprintf(stderr, "iomap_begin: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static uint64_t unique = 1;

/* Send one request, return the reply payload length (skips notifications). */
static int call(int fd, uint32_t op, uint64_t nodeid, const void *arg, size_t len,
		void *out, size_t outlen)
{
	char buf[1 << 16];
	struct fuse_in_header in = { .len = sizeof(in) + len, .opcode = op,
				     .unique = unique++, .nodeid = nodeid };
	struct fuse_out_header *oh = (void *)buf;

	memcpy(buf, &in, sizeof(in));
	memcpy(buf + sizeof(in), arg, len);
	if (write(fd, buf, sizeof(in) + len) != (ssize_t)(sizeof(in) + len))
		die("write request");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < (ssize_t)sizeof(*oh))
			die("read reply");
		if (oh->unique == 0)
			continue;	/* a notification */
		if (oh->unique != in.unique) {
			fprintf(stderr, "iomap_begin: reply to %llu, expected %llu\n",
				(unsigned long long)oh->unique, (unsigned long long)in.unique);
			exit(1);
		}
		if (oh->error) {
			fprintf(stderr, "iomap_begin: opcode %u: error %d\n", op, oh->error);
			exit(1);
		}
		n -= sizeof(*oh);
		memcpy(out, buf + sizeof(*oh), (size_t)n < outlen ? (size_t)n : outlen);
		return n;
	}
}

static int run_daemon(char **argv)
{
	const char *fuse2fs = argv[0], *shim = argv[1], *image = argv[2], *name = argv[3];
	long count = atol(argv[4]), i;
	struct fuse_init_in init = { .major = 7, .minor = 99, .max_readahead = 1 << 20,
				     .flags = FUSE_INIT_EXT | FUSE_ASYNC_READ | FUSE_BIG_WRITES,
				     .flags2 = 0x3800 };
	struct fuse_init_out init_out;
	struct { uint64_t flags; int64_t maxbytes; } cfg = { 0, INT64_MAX };
	char cfg_out[96], lookup[300];
	struct fuse_entry_out ent;
	struct { uint32_t opflags, reserved; uint64_t ino, pos, count; } b;
	char bout[48];
	uint64_t blocks, bs;
	int sv[2], status;
	double t0, t;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid == 0) {
		char fdpath[32], env[4096];
		close(sv[0]);
		snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", sv[1]);
		snprintf(env, sizeof(env), "LD_PRELOAD=%s", shim);
		putenv(env);
		execl(fuse2fs, fuse2fs, "-f", "-o", "iomap=1,iomap_cache=0", image, fdpath,
		      (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	call(sv[0], FUSE_INIT, 0, &init, sizeof(init), &init_out, sizeof(init_out));
	if (!(init_out.flags2 & 0x800)) {
		fprintf(stderr, "iomap_begin: the daemon did not accept iomap\n");
		return 1;
	}
	call(sv[0], OP_IOMAP_CONFIG, 0, &cfg, sizeof(cfg), cfg_out, sizeof(cfg_out));
	memcpy(&bs, cfg_out + 60, 4);
	bs &= 0xffffffff;
	snprintf(lookup, sizeof(lookup), "%s", name);
	call(sv[0], FUSE_LOOKUP, FUSE_ROOT_ID, lookup, strlen(lookup) + 1, &ent, sizeof(ent));
	blocks = ent.attr.size / bs;
	if (!blocks) {
		fprintf(stderr, "iomap_begin: %s is empty\n", name);
		return 1;
	}
	srandom(1);
	t0 = now();
	for (i = 0; i < count; i++) {
		memset(&b, 0, sizeof(b));
		b.ino = ent.attr.ino;
		b.pos = (uint64_t)(random() % blocks) * bs;
		b.count = bs;
		call(sv[0], OP_IOMAP_BEGIN, ent.nodeid, &b, sizeof(b), bout, sizeof(bout));
	}
	t = now() - t0;
	call(sv[0], FUSE_DESTROY, 1, NULL, 0, bout, 0);
	close(sv[0]);
	waitpid(pid, &status, 0);
	printf("iomap_begin: %ld requests in %.3f s: %.0f per second\n", count, t, count / t);
	return 0;
}

static int run_fiemap(char **argv)
{
	long count = atol(argv[1]), i;
	struct { struct fiemap fm; struct fiemap_extent fe[1]; } req;
	struct stat st;
	double t0, t;
	int fd = open(argv[0], O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(argv[0]);
	srandom(1);
	t0 = now();
	for (i = 0; i < count; i++) {
		memset(&req, 0, sizeof(req));
		req.fm.fm_start = (uint64_t)(random() % (st.st_size / st.st_blksize)) * st.st_blksize;
		req.fm.fm_length = st.st_blksize;
		req.fm.fm_extent_count = 1;
		if (ioctl(fd, FS_IOC_FIEMAP, &req) < 0)
			die("FIEMAP");
	}
	t = now() - t0;
	printf("fiemap: %ld lookups in %.3f s: %.0f per second\n", count, t, count / t);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 7 && !strcmp(argv[1], "daemon"))
		return run_daemon(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "fiemap"))
		return run_fiemap(argv + 2);
	fprintf(stderr, "usage: iomap_begin daemon FUSE2FS SHIM IMAGE NAME COUNT\n"
			"       iomap_begin fiemap PATH COUNT\n");
	return 2;
}
