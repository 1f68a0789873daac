/*
 * stress.c: a multi-process random stress of one directory tree, for the
 * iomap VM cases (tests/vm/stress.sh).  Our own tool: several processes mix
 * namespace churn with file I/O, and every byte a process owns is checked
 * against an in-memory model at the end.
 *
 *   stress DIR SEED [-p PROCS] [-n OPS] [-P PROGRESS_FILE] [-D]
 *
 * Layout under DIR:
 *   shared/   names every process creates, links, renames, removes, and
 *             writes into, truncates, punches (metadata churn and data
 *             churn whose result nobody can predict: not checked)
 *   p<i>/     files f0..f7 that only process i writes: their contents
 *             follow the model exactly (write, writev, mmap, truncate,
 *             fallocate, punch, zero range, renames between them)
 *
 * At the end each process checks its files (size and every byte) through
 * the page cache; then the parent syncs and drops the caches (-D: also
 * inodes and dentries, now and then during the run, so the kernel forgets
 * and looks inodes up again) and each process checks again, reading from
 * the disk.  The seed is printed; the same seed and options give the same
 * operation sequence per process (the interleaving is the scheduler's).
 * PROGRESS_FILE gets the total operation count every second, for a hang
 * watchdog.  Exit status: 0 all checks passed, 1 a check failed or an
 * operation failed with an error no race explains (EIO, ENOTCONN, ...).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/falloc.h>

#define OWNED_FILES	8
#define MAX_SIZE	(384 * 1024)	/* an owned file never grows past this */
#define MAX_IO		(64 * 1024)
#define SHARED_NAMES	24
#define SHARED_DIRS	4

static const char *top;
static int proc_id;
static unsigned long long seed;
static volatile uint64_t *progress;	/* one counter per process, shared */
static int drop_inodes;

/* ---- a small reproducible generator (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* Offsets near block and page boundaries find more edge cases. */
static uint64_t pick_offset(uint64_t limit)
{
	static const uint64_t grains[] = { 1, 512, 1024, 4096 };
	uint64_t g = grains[below(4)], off = below(limit + 1);

	off -= off % g;
	if (below(4) == 0 && off >= 3)
		off += below(7) - 3;
	return off > limit ? limit : off;
}

/* ---- failures ---- */

static int failed;

static void failf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: stress seed %llu proc %d: ", seed, proc_id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failed = 1;
}

/*
 * Errors a racing namespace explains (another process removed, replaced or
 * filled what we name) are fine in shared/; these never are.
 */
static void check_errno(const char *op, const char *path, int ret)
{
	if (ret >= 0)
		return;
	switch (errno) {
	case EIO: case ENOTCONN: case ECONNABORTED: case EUCLEAN: case ESTALE:
	case EFAULT: case EINVAL: case ENOSYS: case EBADF: case ENOMEM:
		failf("%s %s: %s", op, path, strerror(errno));
		break;
	}
}

/* ---- owned files and their model ---- */

struct owned {
	unsigned char *data;	/* MAX_SIZE bytes; beyond size: zero */
	uint64_t size;
	int exists;
};

static struct owned model[OWNED_FILES];
static unsigned char *scratch;

static void owned_path(char *buf, size_t len, int i)
{
	snprintf(buf, len, "%s/p%d/f%d", top, proc_id, i);
}

static void fill(unsigned char *p, size_t n)
{
	uint64_t x = rnd();
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(i & 7))
			x = rnd();
		p[i] = (unsigned char)(x >> ((i & 7) * 8));
	}
}

static void model_resize(struct owned *m, uint64_t size)
{
	if (size < m->size)
		memset(m->data + size, 0, m->size - size);
	m->size = size;
}

static int open_owned(int i, int flags)
{
	char path[4096];
	int fd;

	owned_path(path, sizeof(path), i);
	fd = open(path, flags, 0644);
	if (fd < 0)
		failf("open %s: %s", path, strerror(errno));
	return fd;
}

static void owned_create(int i)
{
	int fd = open_owned(i, O_CREAT | O_RDWR | O_TRUNC);

	if (fd < 0)
		return;
	close(fd);
	model[i].exists = 1;
	model_resize(&model[i], 0);
}

static void owned_write(int i, int vectored)
{
	struct owned *m = &model[i];
	uint64_t off = pick_offset(m->size + 8192 < MAX_SIZE ? m->size + 8192 : MAX_SIZE - 1);
	uint64_t len = 1 + below(MAX_IO);
	ssize_t n;
	int fd;

	if (off + len > MAX_SIZE)
		len = MAX_SIZE - off;
	fill(scratch, len);
	if ((fd = open_owned(i, O_RDWR)) < 0)
		return;
	if (vectored) {
		struct iovec iov[3];
		uint64_t a = below(len + 1), b = a + below(len - a + 1);

		iov[0] = (struct iovec){ scratch, a };
		iov[1] = (struct iovec){ scratch + a, b - a };
		iov[2] = (struct iovec){ scratch + b, len - b };
		n = pwritev(fd, iov, 3, off);
	} else {
		n = pwrite(fd, scratch, len, off);
	}
	if (n != (ssize_t)len)
		failf("%s f%d at %llu (+%llu): %zd (%s)", vectored ? "pwritev" : "pwrite", i,
		      (unsigned long long)off, (unsigned long long)len, n,
		      n < 0 ? strerror(errno) : "short");
	else {
		memcpy(m->data + off, scratch, len);
		if (off + len > m->size)
			m->size = off + len;
	}
	if (below(8) == 0 && (below(2) ? fsync(fd) : fdatasync(fd)) < 0)
		failf("fsync f%d: %s", i, strerror(errno));
	close(fd);
}

static void owned_check_range(int i, int fd, uint64_t off, uint64_t len, const char *how)
{
	ssize_t n = pread(fd, scratch, len, off);
	uint64_t want = off >= model[i].size ? 0 :
			(off + len > model[i].size ? model[i].size - off : len);
	uint64_t k;

	if (n < 0) {
		failf("%s f%d at %llu: %s", how, i, (unsigned long long)off, strerror(errno));
		return;
	}
	if ((uint64_t)n != want) {
		failf("%s f%d at %llu (+%llu): got %zd bytes, want %llu (size %llu)", how, i,
		      (unsigned long long)off, (unsigned long long)len, n,
		      (unsigned long long)want, (unsigned long long)model[i].size);
		return;
	}
	for (k = 0; k < want; k++) {
		if (scratch[k] != model[i].data[off + k]) {
			failf("%s f%d: byte %llu is 0x%02x, want 0x%02x", how, i,
			      (unsigned long long)(off + k), scratch[k], model[i].data[off + k]);
			return;
		}
	}
}

static void owned_read(int i)
{
	uint64_t off = pick_offset(model[i].size + 4096);
	int fd = open_owned(i, O_RDONLY);

	if (fd < 0)
		return;
	owned_check_range(i, fd, off, 1 + below(MAX_IO), "pread");
	close(fd);
}

static void owned_mmap(int i, int write)
{
	struct owned *m = &model[i];
	uint64_t off, len, k, start;
	unsigned char *p;
	int fd;

	if (!m->size)
		return;
	off = below(m->size);
	len = 1 + below(m->size - off < 3 * 4096 ? m->size - off : 3 * 4096);
	start = off & ~4095ULL;
	if ((fd = open_owned(i, write ? O_RDWR : O_RDONLY)) < 0)
		return;
	p = mmap(NULL, off + len - start, write ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, fd, start);
	if (p == MAP_FAILED) {
		failf("mmap f%d: %s", i, strerror(errno));
		close(fd);
		return;
	}
	if (write) {
		fill(scratch, len);
		memcpy(p + (off - start), scratch, len);
		memcpy(m->data + off, scratch, len);
		if (below(2) && msync(p, off + len - start, MS_SYNC) < 0)
			failf("msync f%d: %s", i, strerror(errno));
	} else {
		for (k = 0; k < len; k++)
			if (p[off - start + k] != m->data[off + k]) {
				failf("mmap read f%d: byte %llu is 0x%02x, want 0x%02x", i,
				      (unsigned long long)(off + k), p[off - start + k],
				      m->data[off + k]);
				break;
			}
	}
	munmap(p, off + len - start);
	close(fd);
}

static void owned_truncate(int i)
{
	char path[4096];
	uint64_t size = pick_offset(MAX_SIZE / 2);

	owned_path(path, sizeof(path), i);
	if (truncate(path, size) < 0)
		failf("truncate f%d to %llu: %s", i, (unsigned long long)size, strerror(errno));
	else
		model_resize(&model[i], size);
}

static void owned_fallocate(int i)
{
	static const int modes[] = {
		0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_ZERO_RANGE, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	struct owned *m = &model[i];
	int mode = modes[below(5)], fd;
	uint64_t off = pick_offset(m->size + 4096 < MAX_SIZE ? m->size + 4096 : MAX_SIZE - 1);
	uint64_t len = 1 + below(MAX_IO);

	if (off + len > MAX_SIZE)
		len = MAX_SIZE - off;
	if ((fd = open_owned(i, O_RDWR)) < 0)
		return;
	if (fallocate(fd, mode, off, len) < 0) {
		failf("fallocate f%d mode 0x%x at %llu (+%llu): %s", i, mode,
		      (unsigned long long)off, (unsigned long long)len, strerror(errno));
	} else {
		if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
			uint64_t end = off + len < m->size ? off + len : m->size;

			if (off < end)
				memset(m->data + off, 0, end - off);
		}
		if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > m->size)
			m->size = off + len;
	}
	close(fd);
}

/* Rename f<a> over f<b>: b takes a's contents, a is gone. */
static void owned_rename(int a, int b)
{
	char from[4096], to[4096];
	unsigned char *keep;

	if (a == b)
		return;
	owned_path(from, sizeof(from), a);
	owned_path(to, sizeof(to), b);
	if (rename(from, to) < 0) {
		failf("rename f%d f%d: %s", a, b, strerror(errno));
		return;
	}
	keep = model[b].data;
	model[b] = model[a];
	model[a].data = keep;
	memset(keep, 0, MAX_SIZE);
	model[a].size = 0;
	model[a].exists = 0;
}

/* A second name for an owned file, in the owned directory; removed later. */
static void owned_link(int i)
{
	char from[4096], to[4096];

	owned_path(from, sizeof(from), i);
	snprintf(to, sizeof(to), "%s/p%d/l%d", top, proc_id, (int)below(4));
	if (below(2)) {
		check_errno("unlink", to, unlink(to));
	} else if (link(from, to) < 0 && errno != EEXIST) {
		failf("link %s %s: %s", from, to, strerror(errno));
	}
}

static void owned_verify(const char *how)
{
	char path[4096];
	struct stat st;
	int i, fd;

	for (i = 0; i < OWNED_FILES; i++) {
		owned_path(path, sizeof(path), i);
		if (!model[i].exists) {
			if (lstat(path, &st) == 0 || errno != ENOENT)
				failf("%s: f%d should not exist", how, i);
			continue;
		}
		if (stat(path, &st) < 0) {
			failf("%s: stat f%d: %s", how, i, strerror(errno));
			continue;
		}
		if ((uint64_t)st.st_size != model[i].size)
			failf("%s: f%d has size %lld, want %llu", how, i, (long long)st.st_size,
			      (unsigned long long)model[i].size);
		if ((fd = open_owned(i, O_RDONLY)) < 0)
			continue;
		owned_check_range(i, fd, 0, MAX_SIZE, how);
		close(fd);
	}
}

/* ---- the shared namespace ---- */

static void shared_name(char *buf, size_t len)
{
	int d = (int)below(SHARED_DIRS + 1);

	if (d == SHARED_DIRS)
		snprintf(buf, len, "%s/shared/n%d", top, (int)below(SHARED_NAMES));
	else
		snprintf(buf, len, "%s/shared/d%d/n%d", top, d, (int)below(SHARED_NAMES));
}

static void shared_dir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/shared/d%d", top, (int)below(SHARED_DIRS));
}

/* Data churn on whatever a shared name is now; the result is not checked. */
static void shared_data(const char *path)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_NOFOLLOW), r = 0;
	uint64_t off = pick_offset(MAX_SIZE / 2), len = 1 + below(MAX_IO / 2);
	struct stat st;

	if (fd < 0) {
		if (errno != EISDIR && errno != ELOOP && errno != ENXIO)
			check_errno("open", path, fd);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	fill(scratch, len);
	switch (below(7)) {
	case 0: case 1:
		r = pwrite(fd, scratch, len, off) < 0 ? -1 : 0;
		check_errno("pwrite", path, r);
		break;
	case 2:
		r = pread(fd, scratch, len, off) < 0 ? -1 : 0;
		check_errno("pread", path, r);
		break;
	case 3:
		check_errno("ftruncate", path, ftruncate(fd, off));
		break;
	case 4:
		check_errno("fallocate", path, fallocate(fd, 0, off, len));
		break;
	case 5:
		check_errno("punch", path, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
						      FALLOC_FL_KEEP_SIZE, off, len));
		break;
	default:
		check_errno("fsync", path, below(2) ? fsync(fd) : fdatasync(fd));
	}
	close(fd);
}

static void shared_op(void)
{
	char a[4096], b[4096];
	struct timeval tv[2];
	int fd;

	shared_name(a, sizeof(a));
	shared_name(b, sizeof(b));
	switch (below(20)) {
	case 0: case 1:
		/* O_NONBLOCK: the name may be a FIFO now (ENXIO, not a hang) */
		fd = open(a, O_CREAT | O_WRONLY | O_NONBLOCK | (below(2) ? O_EXCL : O_TRUNC), 0644);
		check_errno("creat", a, fd);
		if (fd >= 0) {
			fill(scratch, 1 + below(8192));
			check_errno("write", a, write(fd, scratch, 1 + below(8192)) < 0 ? -1 : 0);
			close(fd);
		}
		break;
	case 2:
		check_errno("mkdir", a, mkdir(a, 0755));
		break;
	case 3:
		/* mknod of a regular file: FUSE_MKNOD, not FUSE_CREATE */
		check_errno("mknod", a, mknod(a, below(3) ? S_IFREG | 0644 : S_IFIFO | 0600, 0));
		break;
	case 4:
		check_errno("symlink", a, symlink(below(2) ? b : "../dangling", a));
		break;
	case 5:
		check_errno("link", a, link(a, b));
		break;
	case 6: case 7:
		check_errno("rename", a, rename(a, b));
		break;
	case 8:
		check_errno("unlink", a, unlink(a));
		break;
	case 9:
		shared_dir(a, sizeof(a));
		check_errno("rmdir", a, rmdir(a));
		if (below(2))
			check_errno("mkdir", a, mkdir(a, 0755));
		break;
	case 10:
		/* EINVAL: the name is a FIFO or a symlink to one now */
		if (truncate(a, pick_offset(MAX_SIZE / 2)) < 0 && errno != EINVAL)
			check_errno("truncate", a, -1);
		break;
	case 11:
		check_errno("chmod", a, chmod(a, 0600 | below(0100)));
		break;
	case 12:
		check_errno("chown", a, lchown(a, below(3) * 1000, below(3) * 1000));
		break;
	case 13:
		tv[0] = (struct timeval){ (time_t)below(1u << 30), 0 };
		tv[1] = (struct timeval){ (time_t)below(1u << 30), (long)below(1000000) };
		check_errno("utimes", a, below(2) ? utimes(a, tv) : utimes(a, NULL));
		break;
	case 14:
		snprintf(b, sizeof(b), "user.k%d", (int)below(4));
		fill(scratch, 64);
		switch (below(3)) {
		case 0:
			check_errno("setxattr", a, lsetxattr(a, b, scratch, 1 + below(64), 0));
			break;
		case 1:
			check_errno("removexattr", a, lremovexattr(a, b));
			break;
		default:
			if (lgetxattr(a, b, scratch, 256) < 0 && errno != ENODATA)
				check_errno("getxattr", a, -1);
		}
		break;
	case 15:
		/* List a directory and stat every entry: READDIRPLUS, LOOKUP. */
		{
			struct dirent *de;
			struct stat st;
			DIR *d;

			shared_dir(a, sizeof(a));
			if (!(d = opendir(a))) {
				check_errno("opendir", a, -1);
				break;
			}
			while ((de = readdir(d)))
				if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
					check_errno("fstatat", de->d_name, -1);
			closedir(d);
		}
		break;
	default:
		shared_data(a);
	}
}

/* Now and then: make the kernel forget inodes and look them up again. */
static void drop_caches(int what)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	char c = (char)('0' + what);

	if (fd < 0)
		return;
	if (write(fd, &c, 1) != 1)
		fprintf(stderr, "stress: drop_caches %d: %s\n", what, strerror(errno));
	close(fd);
}

static void one_op(void)
{
	int i = (int)below(OWNED_FILES);

	if (below(3) == 0) {
		shared_op();
		return;
	}
	if (!model[i].exists) {
		owned_create(i);
		return;
	}
	switch (below(16)) {
	case 0: case 1: case 2:
		owned_write(i, 0);
		break;
	case 3:
		owned_write(i, 1);
		break;
	case 4: case 5:
		owned_read(i);
		break;
	case 6:
		owned_mmap(i, 0);
		break;
	case 7:
		owned_mmap(i, 1);
		break;
	case 8:
		owned_truncate(i);
		break;
	case 9: case 10:
		owned_fallocate(i);
		break;
	case 11:
		owned_rename(i, (int)below(OWNED_FILES));
		break;
	case 12:
		owned_link(i);
		break;
	case 13:
		if (drop_inodes && below(16) == 0)
			drop_caches(2);
		else
			owned_read(i);
		break;
	default:
		owned_write(i, below(2));
	}
}

static int child(int id, long ops, int done_fd, int go_fd)
{
	char dir[4096], c = 0;
	long n;
	int i;

	proc_id = id;
	rng_state = seed * 1000003ULL + (uint64_t)id;
	scratch = malloc(MAX_SIZE);
	for (i = 0; i < OWNED_FILES; i++)
		model[i].data = calloc(1, MAX_SIZE);
	snprintf(dir, sizeof(dir), "%s/p%d", top, id);
	if (mkdir(dir, 0755) < 0) {
		failf("mkdir %s: %s", dir, strerror(errno));
		return 1;
	}
	for (n = 0; n < ops && !failed; n++) {
		one_op();
		progress[id]++;
	}
	owned_verify("check through the page cache");
	if (write(done_fd, &c, 1) != 1 || read(go_fd, &c, 1) < 0)
		failf("barrier: %s", strerror(errno));
	owned_verify("check after dropping the caches");
	return failed;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress DIR SEED [-p PROCS] [-n OPS] [-P PROGRESS_FILE] [-D]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int procs = 4, done[2], go[2], i, k, status, rc = 0, opt;
	long ops = 2000;
	const char *progress_file = NULL;
	char path[4096], c;
	pid_t pids[64];
	time_t start = time(NULL);

	while ((opt = getopt(argc, argv, "p:n:P:D")) != -1) {
		switch (opt) {
		case 'p': procs = atoi(optarg); break;
		case 'n': ops = atol(optarg); break;
		case 'P': progress_file = optarg; break;
		case 'D': drop_inodes = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || procs < 1 || procs > 64 || ops < 0)
		usage();
	top = argv[optind];
	seed = strtoull(argv[optind + 1], NULL, 0);
	printf("stress: seed %llu, %d processes x %ld operations in %s\n", seed, procs, ops, top);
	fflush(stdout);
	progress = mmap(NULL, 64 * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (progress == MAP_FAILED || pipe(done) < 0 || pipe(go) < 0) {
		perror("stress: setup");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/shared", top);
	if (mkdir(path, 0755) < 0) {
		fprintf(stderr, "FAIL: stress: mkdir %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < SHARED_DIRS; i++) {
		snprintf(path, sizeof(path), "%s/shared/d%d", top, i);
		mkdir(path, 0755);
	}
	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("stress: fork");
			return 1;
		}
		if (!pids[i]) {
			close(done[0]);
			close(go[1]);
			_exit(child(i, ops, done[1], go[0]));
		}
	}
	close(done[1]);
	close(go[0]);
	/*
	 * Wait for every process to finish its operations (or die), reporting
	 * progress; then drop the caches and let them check again.
	 */
	for (i = 0; i < procs;) {
		struct timeval tv = { 1, 0 };
		pid_t pid;
		fd_set rd;

		FD_ZERO(&rd);
		FD_SET(done[0], &rd);
		if (select(done[0] + 1, &rd, NULL, NULL, &tv) > 0 && read(done[0], &c, 1) == 1)
			i++;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (k = 0; k < procs && pids[k] != pid; k++)
				;
			if (k < procs) {
				fprintf(stderr, "FAIL: stress seed %llu: process %d %s %d before the end\n",
					seed, k, WIFSIGNALED(status) ? "killed by signal" : "exited",
					WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
				pids[k] = 0;
				rc = 1;
				i++;
			}
		}
		if (progress_file) {
			FILE *pf = fopen(progress_file, "w");
			uint64_t total = 0;

			for (k = 0; k < procs; k++)
				total += progress[k];
			if (pf) {
				fprintf(pf, "%llu %" PRIu64 "\n", seed, total);
				fclose(pf);
			}
		}
	}
	sync();
	drop_caches(3);
	close(go[1]);
	for (i = 0; i < procs; i++) {
		if (!pids[i])
			continue;
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "FAIL: stress seed %llu: process %d %s %d\n", seed, i,
				WIFSIGNALED(status) ? "killed by signal" : "exited",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			rc = 1;
		}
	}
	printf("stress: seed %llu %s after %llds\n", seed, rc ? "FAILED" : "passed",
	       (long long)(time(NULL) - start));
	return rc;
}
