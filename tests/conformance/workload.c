/*
 * fuse2fs-ng conformance workload.
 *
 *   workload DIR
 *
 * Runs a fixed, scripted sequence of system calls inside DIR (which must be
 * the root of a freshly made, empty ext2/3/4 filesystem, mounted either by
 * kernel ext4 or by our daemon with -o kernel) and prints a deterministic
 * transcript on stdout: one numbered header per step, then one line per call
 * with its return value and errno name, and the relevant results.  The
 * transcript of kernel ext4 is the reference; tests/conformance/compare.sh
 * diffs it against the one of our daemon.
 *
 * Never printed: inode numbers, device numbers of the filesystem, current
 * wall-clock times (only relations such as "mtime changed" are), st_blocks
 * where it is not deterministic, file descriptor numbers, readdir order.
 *
 * Plain libc only: ACLs are set and read as raw system.posix_acl_* bytes.
 * Must be run as root (it forks children that drop to uid 1234 / 65534).
 * The program never aborts on an unexpected result: it prints it and goes on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#ifndef FS_IOC_FSGETXATTR
struct fsxattr {
	uint32_t fsx_xflags, fsx_extsize, fsx_nextents, fsx_projid, fsx_cowextsize;
	unsigned char fsx_pad[8];
};
#define FS_IOC_FSGETXATTR _IOR('X', 31, struct fsxattr)
#endif

#include "workload.h"

/* ------------------------------------------------------------ output */

static int stepno;
static int fine_ts = 1;		/* filesystem keeps nanoseconds */

void out(const char *fmt, ...)
{
	va_list ap;

	fputs("  ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void step(const char *title)
{
	printf("\n== %03d %s\n", ++stepno, title);
	fflush(stdout);
}

const char *errname(int e)
{
	static char buf[32];

	switch (e) {
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG)
	E(ENOEXEC) E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES)
	E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR)
	E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY)
	E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE)
	E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP)
	E(ENODATA) E(EOVERFLOW) E(EOPNOTSUPP) E(ENOTCONN) E(EUCLEAN)
	E(EDQUOT) E(ESTALE) E(EBADMSG)
#undef E
	}
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/* Print "desc -> 0" or "desc -> -1 ENOENT"; returns the value. */
long report(const char *desc, long r, int e)
{
	if (r < 0)
		out("%s -> %ld %s", desc, r, errname(e));
	else
		out("%s -> %ld", desc, r);
	return r;
}

/* Same for calls returning an fd: "ok" instead of the number. */
int report_fd(const char *desc, int fd, int e)
{
	if (fd < 0)
		out("%s -> -1 %s", desc, errname(e));
	else
		out("%s -> fd", desc);
	return fd;
}


void closefd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* ------------------------------------------------------------ data */

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	while (n--) {
		h ^= *c++;
		h *= 1099511628211ULL;
	}
	return h;
}
#define FNV0 14695981039346656037ULL

/* Deterministic pattern byte for (seed, offset). */
static unsigned char pat(int seed, off_t off)
{
	uint32_t x = (uint32_t)((uint64_t)off * 2654435761u) ^ ((uint32_t)seed * 40503u);

	x ^= x >> 13;
	return (unsigned char)(x * 0x5bd1e995u >> 24);
}

static void fill(unsigned char *b, size_t n, int seed, off_t off)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(seed, off + (off_t)i);
}

/* Write n pattern bytes at off (pwrite); prints the call. */
static long pwrite_pat(const char *desc, int fd, size_t n, off_t off, int seed)
{
	unsigned char *b = malloc(n ? n : 1);
	long r;

	if (!b)
		return -1;
	fill(b, n, seed, off);
	r = T(desc, pwrite(fd, b, n, off));
	free(b);
	return r;
}

/* Checksum and size of the whole content as read through fd (pread). */
void sum_fd(const char *name, int fd)
{
	unsigned char buf[65536];
	uint64_t h = FNV0;
	off_t off = 0;
	ssize_t r;

	while ((r = pread(fd, buf, sizeof(buf), off)) > 0) {
		h = fnv(buf, (size_t)r, h);
		off += r;
	}
	if (r < 0)
		out("content %s: read error %s at %lld", name, errname(errno), (long long)off);
	else
		out("content %s: %lld bytes fnv %016" PRIx64, name, (long long)off, h);
}

void sum_path(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		out("content %s: open -> %s", path, errname(errno));
		return;
	}
	sum_fd(path, fd);
	close(fd);
}

/* Are bytes [off, off+len) of fd all zero?  Prints the answer. */
static void check_zero(const char *name, int fd, off_t off, off_t len)
{
	unsigned char buf[65536];
	off_t done = 0, bad = -1;

	while (done < len) {
		size_t want = (size_t)(len - done < (off_t)sizeof(buf) ? len - done : (off_t)sizeof(buf));
		ssize_t r = pread(fd, buf, want, off + done);

		if (r <= 0) {
			out("zeros %s [%lld,+%lld): short read at %lld (%s)", name, (long long)off,
			    (long long)len, (long long)(off + done), r < 0 ? errname(errno) : "EOF");
			return;
		}
		for (ssize_t i = 0; i < r && bad < 0; i++)
			if (buf[i])
				bad = off + done + i;
		if (bad >= 0)
			break;
		done += r;
	}
	if (bad >= 0)
		out("zeros %s [%lld,+%lld): NO, first non-zero at %lld", name, (long long)off,
		    (long long)len, (long long)bad);
	else
		out("zeros %s [%lld,+%lld): yes", name, (long long)off, (long long)len);
}

/* Do bytes [off, off+len) of fd hold the pattern of seed (written at the same offsets)? */
static void check_pat(const char *name, int fd, off_t off, size_t len, int seed)
{
	unsigned char *b = malloc(len ? len : 1);
	ssize_t r;
	size_t i;

	if (!b)
		return;
	r = pread(fd, b, len, off);
	if (r != (ssize_t)len) {
		out("pattern %s [%lld,+%zu): short read %zd", name, (long long)off, len, r);
		free(b);
		return;
	}
	for (i = 0; i < len; i++)
		if (b[i] != pat(seed, off + (off_t)i))
			break;
	if (i == len)
		out("pattern %s [%lld,+%zu): yes", name, (long long)off, len);
	else
		out("pattern %s [%lld,+%zu): NO, first difference at %lld", name, (long long)off,
		    len, (long long)(off + (off_t)i));
	free(b);
}

static void hex(char *dst, const unsigned char *p, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*dst++ = d[p[i] >> 4];
		*dst++ = d[p[i] & 15];
	}
	*dst = 0;
}

/* ------------------------------------------------------------ stat */

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFSOCK: return "sock";
	}
	return "?";
}

static void print_stat(const char *desc, const struct stat *st)
{
	char extra[64] = "";

	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		snprintf(extra, sizeof(extra), " rdev=%u:%u", major(st->st_rdev), minor(st->st_rdev));
	if (S_ISDIR(st->st_mode))	/* directory sizes are the implementation's business */
		out("%s: %s mode=%04o nlink=%lu uid=%u gid=%u", desc, ftype(st->st_mode),
		    (unsigned)(st->st_mode & 07777), (unsigned long)st->st_nlink, st->st_uid, st->st_gid);
	else
		out("%s: %s mode=%04o nlink=%lu uid=%u gid=%u size=%lld%s", desc, ftype(st->st_mode),
		    (unsigned)(st->st_mode & 07777), (unsigned long)st->st_nlink, st->st_uid, st->st_gid,
		    (long long)st->st_size, extra);
}

/* lstat and print; returns 0 or -1. */
int show(const char *path)
{
	struct stat st;
	char d[PATH_MAX + 16];

	snprintf(d, sizeof(d), "lstat %.200s", path);
	errno = 0;
	if (lstat(path, &st) < 0) {
		out("%s -> -1 %s", d, errname(errno));
		return -1;
	}
	print_stat(d, &st);
	return 0;
}

int showfd(const char *name, int fd)
{
	struct stat st;
	char d[300];

	snprintf(d, sizeof(d), "fstat %.200s", name);
	if (fstat(fd, &st) < 0) {
		out("%s -> -1 %s", d, errname(errno));
		return -1;
	}
	print_stat(d, &st);
	return 0;
}

/* lstat quietly; st zeroed on failure. */
static int qstat(const char *path, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	return lstat(path, st);
}

/* st_blocks of a file whose data blocks are known: how many are allocated
 * is compared, not where (the extent tree blocks depend on the allocator). */
static void show_alloc(const char *path, long long want_kib)
{
	struct stat st;
	long long kib;

	if (qstat(path, &st) < 0) {
		out("allocated %s -> %s", path, errname(errno));
		return;
	}
	kib = (long long)st.st_blocks / 2;
	out("allocated %s: size=%lld, %lld KiB of data blocks: %s", path, (long long)st.st_size, want_kib,
	    kib < want_kib ? "NO, fewer" : kib > want_kib + 64 ? "NO, far more" : "yes");
}

void show_nlink(const char *path)
{
	struct stat st;

	if (qstat(path, &st) < 0)
		out("nlink %s -> %s", path, errname(errno));
	else
		out("nlink %s = %lu", path, (unsigned long)st.st_nlink);
}

void same_inode(const char *a, const char *b)
{
	struct stat x, y;
	int ra = qstat(a, &x), rb = qstat(b, &y);

	out("same inode %s %s: %s", a, b,
	    ra || rb ? "stat failed" : (x.st_ino == y.st_ino && x.st_dev == y.st_dev) ? "yes" : "no");
}

/* ------------------------------------------------------------ times */

static int tscmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

static void show_times(const char *path, int which)	/* 1 atime 2 mtime */
{
	struct stat st;

	if (qstat(path, &st) < 0) {
		out("times %s -> %s", path, errname(errno));
		return;
	}
	if (which & 1)
		out("atime %s = %lld.%09ld", path, (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
	if (which & 2)
		out("mtime %s = %lld.%09ld", path, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/* Let the clock move on, so that a change is visible in the timestamps. */
static void tick(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	if (!fine_ts) {		/* whole seconds only: wait for the next one */
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		ts.tv_sec = 0;
		ts.tv_nsec = 1000000000L - now.tv_nsec + 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec = 1;
			ts.tv_nsec -= 1000000000L;
		}
	}
	nanosleep(&ts, NULL);
}

/* A snapshot of a file's times, to print relations with later ones. */
struct snap {
	struct stat st;
	struct timespec before;		/* coarse clock when taken */
	int ok;
};

static void take(struct snap *s, const char *path)
{
	s->ok = qstat(path, &s->st) == 0;
	clock_gettime(CLOCK_REALTIME_COARSE, &s->before);
}

static const char *rel(struct timespec now, struct timespec old)
{
	int c = tscmp(now, old);

	return c > 0 ? "changed(later)" : c == 0 ? "unchanged" : "changed(EARLIER)";
}

/* Is t within the window [start - 1 s, now + 1 s]? */
static const char *recent(struct timespec t, struct timespec start)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (t.tv_sec < start.tv_sec - 1)
		return "in the past";
	if (t.tv_sec > now.tv_sec + 1)
		return "in the future";
	return "now";
}

/* Print how mtime and ctime of path moved since s (which = 2 mtime, 4 ctime). */
static void since(const char *path, const struct snap *s, int which)
{
	struct stat st;

	if (!s->ok || qstat(path, &st) < 0) {
		out("times %s: stat failed", path);
		return;
	}
	if (which & 1)
		out("atime %s: %s", path, rel(st.st_atim, s->st.st_atim));
	if (which & 2)
		out("mtime %s: %s", path, rel(st.st_mtim, s->st.st_mtim));
	if (which & 4)
		out("ctime %s: %s", path, rel(st.st_ctim, s->st.st_ctim));
	if (which & 8)
		out("ctime %s >= mtime: %s, ctime is %s", path,
		    tscmp(st.st_ctim, st.st_mtim) >= 0 ? "yes" : "no", recent(st.st_ctim, s->before));
}

/* ------------------------------------------------------------ listings */

struct ent {
	char *name;
	unsigned char type;
};

static int entcmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

static const char *dtname(unsigned char t)
{
	switch (t) {
	case DT_REG: return "REG";
	case DT_DIR: return "DIR";
	case DT_LNK: return "LNK";
	case DT_FIFO: return "FIFO";
	case DT_CHR: return "CHR";
	case DT_BLK: return "BLK";
	case DT_SOCK: return "SOCK";
	case DT_UNKNOWN: return "UNKNOWN";
	}
	return "?";
}

/* Sorted listing of path with d_type, one line per entry. */
void list_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct ent *v = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		out("opendir %s -> %s", path, errname(errno));
		return;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = realloc(v, cap * sizeof(*v));
		}
		v[n].name = strdup(de->d_name);
		v[n].type = de->d_type;
		n++;
	}
	if (errno)
		out("readdir %s -> %s", path, errname(errno));
	closedir(d);
	qsort(v, n, sizeof(*v), entcmp);
	out("listing %s: %zu entries", path, n);
	for (size_t i = 0; i < n; i++) {
		out("  %.60s%s %s", v[i].name, strlen(v[i].name) > 60 ? "...(long)" : "", dtname(v[i].type));
		free(v[i].name);
	}
	free(v);
}

/* ------------------------------------------------------------ xattrs */

static void show_value(const char *desc, const unsigned char *v, ssize_t n)
{
	char h[2 * 64 + 1];

	if (n <= 64) {
		hex(h, v, (size_t)n);
		out("%s = %zd bytes 0x%s", desc, n, h);
	} else {
		out("%s = %zd bytes fnv %016" PRIx64, desc, n, fnv(v, (size_t)n, FNV0));
	}
}

static int strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted xattr names of path (not following symlinks) and their values. */
static void list_xattrs(const char *path)
{
	char buf[65536], *names[512];
	unsigned char *val = malloc(70000);
	ssize_t n, q;
	size_t k = 0;

	q = llistxattr(path, NULL, 0);
	n = llistxattr(path, buf, sizeof(buf));
	if (n < 0) {
		out("llistxattr %s -> %s", path, errname(errno));
		free(val);
		return;
	}
	out("llistxattr %s: size query %s", path, q == n ? "matches" : "DIFFERS");
	for (char *p = buf; p < buf + n && k < 512; p += strlen(p) + 1)
		names[k++] = p;
	qsort(names, k, sizeof(names[0]), strpcmp);
	out("xattrs of %s: %zu", path, k);
	for (size_t i = 0; i < k; i++) {
		char d[400];
		ssize_t r = lgetxattr(path, names[i], val, 70000);

		snprintf(d, sizeof(d), "  %s", names[i]);
		if (r < 0)
			out("%s -> %s", d, errname(errno));
		else
			show_value(d, val, r);
	}
	free(val);
}

/* ------------------------------------------------------------ ACLs */

/* The xattr form of ACLs (struct acle, A_*): workload.h. */

size_t acl_encode(unsigned char *b, const struct acle *e, int n)
{
	size_t o = 4;

	b[0] = ACL_XVERSION; b[1] = b[2] = b[3] = 0;
	for (int i = 0; i < n; i++, o += 8) {
		b[o] = e[i].tag & 0xff; b[o + 1] = e[i].tag >> 8;
		b[o + 2] = e[i].perm & 0xff; b[o + 3] = e[i].perm >> 8;
		for (int k = 0; k < 4; k++)
			b[o + 4 + k] = (e[i].id >> (8 * k)) & 0xff;
	}
	return o;
}

/* Print an ACL xattr value: decoded text and the raw bytes. */
void show_acl(const char *path, const char *name)
{
	unsigned char b[1024];
	char txt[1024] = "", h[2 * 1024 + 1];
	ssize_t n = lgetxattr(path, name, b, sizeof(b));
	size_t t = 0;

	if (n < 0) {
		out("%s of %s -> %s", name, path, errname(errno));
		return;
	}
	for (ssize_t o = 4; o + 8 <= n; o += 8) {
		unsigned tag = b[o] | b[o + 1] << 8, perm = b[o + 2] | b[o + 3] << 8;
		uint32_t id = b[o + 4] | b[o + 5] << 8 | b[o + 6] << 16 | (uint32_t)b[o + 7] << 24;
		const char *tn = tag == A_USER_OBJ ? "u:" : tag == A_USER ? "u:" : tag == A_GROUP_OBJ ? "g:" :
				 tag == A_GROUP ? "g:" : tag == A_MASK ? "m:" : tag == A_OTHER ? "o:" : "?:";
		char idb[16] = "";

		if (tag == A_USER || tag == A_GROUP)
			snprintf(idb, sizeof(idb), "%u", id);
		else if (id != A_UNDEF_ID)
			snprintf(idb, sizeof(idb), "(id %u)", id);
		t += (size_t)snprintf(txt + t, sizeof(txt) - t, "%s%s%s:%c%c%c", t ? "," : "", tn, idb,
				      perm & 4 ? 'r' : '-', perm & 2 ? 'w' : '-', perm & 1 ? 'x' : '-');
		if (t >= sizeof(txt))
			break;
	}
	hex(h, b, (size_t)n);
	out("%s of %s = %s", name, path, txt);
	out("  bytes %zd 0x%s", n, h);
}

/* ------------------------------------------------------------ misc helpers */

int mkfile(const char *path, const char *content)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		return -1;
	if (content && write(fd, content, strlen(content)) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void mkpat(const char *path, size_t n, int seed)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	unsigned char *b = malloc(n ? n : 1);

	if (fd >= 0 && b) {
		fill(b, n, seed, 0);
		if (write(fd, b, n) != (ssize_t)n)
			out("mkpat %s: short write %s", path, errname(errno));
	} else {
		out("mkpat %s: open -> %s", path, errname(errno));
	}
	free(b);
	closefd(fd);
}

static char *rep(char c, size_t n)
{
	static char bufs[8][4200];
	static int k;
	char *b = bufs[k++ & 7];

	memset(b, c, n);
	b[n] = 0;
	return b;
}

int fork_as(uid_t uid, gid_t gid)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		out("fork -> %s", errname(errno));
		return -1;
	}
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(gid) || setuid(uid)) {
			out("cannot become %u:%u: %s", uid, gid, errname(errno));
			fflush(stdout);
			_exit(1);
		}
		return 0;
	}
	return pid;
}

void child_done(void)
{
	fflush(stdout);
	_exit(0);
}

void wait_child(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		out("child exit status %d", status);
}

static int do_utimens(const char *path, long long as, long an, long long ms, long mn, int flags)
{
	struct timespec ts[2] = {{(time_t)as, an}, {(time_t)ms, mn}};

	return utimensat(AT_FDCWD, path, ts, flags);
}

/* ============================================================ the steps */

static void s_setup(void)
{
	struct stat st;

	step("setup: root directory, timestamp granularity");
	show(".");
	T("mkdir keep", mkdir("keep", 0755));
	T("mkfile probe", mkfile("probe", "x"));
	T("utimensat probe 1000000000.123456789", do_utimens("probe", 1000000000, 123456789,
							     1000000000, 123456789, 0));
	if (qstat("probe", &st) == 0)
		fine_ts = st.st_mtim.tv_nsec == 123456789;
	out("nanosecond timestamps: %s", fine_ts ? "yes" : "no");
	T("unlink probe", unlink("probe"));
	list_dir(".");
}

static void s_statvfs(void)
{
	struct statvfs a, b;

	step("statvfs");
	if (T("statvfs .", statvfs(".", &a)) < 0)
		return;
	out("f_bsize=%lu f_frsize=%lu f_namemax=%lu", a.f_bsize, a.f_frsize, a.f_namemax);
	out("f_blocks=%llu f_files=%llu", (unsigned long long)a.f_blocks, (unsigned long long)a.f_files);
	out("f_bfree <= f_blocks: %s", a.f_bfree <= a.f_blocks ? "yes" : "no");
	out("f_bavail <= f_bfree: %s", a.f_bavail <= a.f_bfree ? "yes" : "no");
	out("f_ffree < f_files: %s", a.f_ffree < a.f_files ? "yes" : "no");
	out("f_favail <= f_ffree: %s", a.f_favail <= a.f_ffree ? "yes" : "no");
	/* Writing 1 MiB and creating a file must show in the free counts. */
	mkpat("keep/statvfs.1m", 1 << 20, 99);
	sync();
	if (T("statvfs . after writing 1 MiB + sync", statvfs(".", &b)) < 0)
		return;
	out("f_bfree decreased by >= 1 MiB: %s",
	    (a.f_bfree - b.f_bfree) * b.f_frsize >= (1u << 20) ? "yes" : "no");
	out("f_ffree decreased: %s", b.f_ffree < a.f_ffree ? "yes" : "no");
	T("unlink keep/statvfs.1m", unlink("keep/statvfs.1m"));
	T("statvfs keep", statvfs("keep", &b));
	out("same f_blocks through a subdirectory: %s", a.f_blocks == b.f_blocks ? "yes" : "no");
}

static void s_lookup(void)
{
	struct stat st;
	char buf[64];

	step("lookup of missing names");
	T("mkdir lk", mkdir("lk", 0755));
	T("mkfile lk/file", mkfile("lk/file", "data"));
	T("stat lk/missing", stat("lk/missing", &st));
	T("lstat lk/missing", lstat("lk/missing", &st));
	T("stat lk/missing/x", stat("lk/missing/x", &st));
	T("stat lk/file/x", stat("lk/file/x", &st));
	T("stat lk/file/", stat("lk/file/", &st));
	T("open lk/missing O_RDONLY", open("lk/missing", O_RDONLY));
	T("access lk/missing F_OK", access("lk/missing", F_OK));
	T("readlink lk/missing", readlink("lk/missing", buf, sizeof(buf)));
	T("unlink lk/missing", unlink("lk/missing"));
	T("rmdir lk/missing", rmdir("lk/missing"));
	T("mkdir lk/missing/x", mkdir("lk/missing/x", 0755));
	T("rename lk/missing lk/other", rename("lk/missing", "lk/other"));
	T("link lk/missing lk/other", link("lk/missing", "lk/other"));
	T("chmod lk/missing", chmod("lk/missing", 0600));
	T("lgetxattr lk/missing user.x", lgetxattr("lk/missing", "user.x", buf, sizeof(buf)));
	T("symlink to missing: lk/dangling", symlink("missing", "lk/dangling"));
	T("stat lk/dangling (follows)", stat("lk/dangling", &st));
	show("lk/dangling");
	T("open lk/dangling O_RDONLY", open("lk/dangling", O_RDONLY));
	T("open lk/dangling O_CREAT|O_EXCL", open("lk/dangling", O_CREAT | O_EXCL | O_WRONLY, 0644));
	T("symlink loop lk/loop1 -> loop2", symlink("loop2", "lk/loop1"));
	T("symlink loop lk/loop2 -> loop1", symlink("loop1", "lk/loop2"));
	T("stat lk/loop1", stat("lk/loop1", &st));
	list_dir("lk");
}

/* Names of 255 (allowed) and 256 (ENAMETOOLONG) bytes in every name operation. */
static void s_names(void)
{
	char a[300], b[300], c[300], d[300], e[300], g[300], x[300], l[300];
	struct stat st;
	int fd;

	step("names of 255 and 256 bytes");
	T("mkdir nm", mkdir("nm", 0755));
	snprintf(a, sizeof(a), "nm/%s", rep('a', 255));
	snprintf(b, sizeof(b), "nm/%s", rep('b', 255));
	snprintf(c, sizeof(c), "nm/%s", rep('c', 255));
	snprintf(d, sizeof(d), "nm/%s", rep('d', 255));
	snprintf(e, sizeof(e), "nm/%s", rep('e', 255));
	snprintf(g, sizeof(g), "nm/%s", rep('g', 255));
	snprintf(x, sizeof(x), "nm/%s", rep('x', 256));
	snprintf(l, sizeof(l), "nm/%s", rep('l', 256));
	fd = TFD("create 255 (a...)", open(a, O_CREAT | O_WRONLY, 0644));
	closefd(fd);
	fd = TFD("create 256 (x...)", open(x, O_CREAT | O_WRONLY, 0644));
	closefd(fd);
	T("mkdir 255 (b...)", mkdir(b, 0755));
	T("mkdir 256", mkdir(x, 0755));
	T("symlink 255 (c...)", symlink("target", c));
	T("symlink 256", symlink("target", x));
	T("symlink with a 255-byte target component", symlink(rep('t', 255), "nm/tgt255"));
	T("link 255 (d...)", link(a, d));
	T("link 256", link(a, x));
	T("mknod fifo 255 (g...)", mknod(g, S_IFIFO | 0644, 0));
	T("mknod fifo 256", mknod(x, S_IFIFO | 0644, 0));
	T("rename 255 -> 255 (d... -> e...)", rename(d, e));
	T("rename 255 -> 256", rename(e, l));
	T("rename 256 -> 255", rename(l, d));
	T("lookup (stat) 255 a", stat(a, &st));
	T("lookup (stat) 255 e", stat(e, &st));
	T("lookup (stat) 256", stat(x, &st));
	T("access 256", access(x, F_OK));
	T("unlink 256", unlink(x));
	T("rmdir 256", rmdir(x));
	T("setxattr on 256", setxattr(x, "user.a", "1", 1, 0));
	show_nlink(a);
	readlink(c, x, sizeof(x));
	out("readlink 255 c...: %.6s", x);
	snprintf(x, sizeof(x), "nm/%s/%s", rep('b', 255), rep('y', 255));
	T("create 255 inside dir 255", mkfile(x, "deep"));
	T("stat it", stat(x, &st));
	T("unlink 255 (e...)", unlink(e));
	show_nlink(a);
	list_dir("nm");
}

static void s_chmod(void)
{
	static const mode_t modes[] = {0600, 0777, 04755, 02755, 01777, 0, 07777, 0644};
	struct snap s;
	char d[64];

	step("setattr: chmod, ctime");
	T("mkdir sa", mkdir("sa", 0755));
	T("mkfile sa/f", mkfile("sa/f", "chmod me"));
	T("mkdir sa/d", mkdir("sa/d", 0755));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(d, sizeof(d), "chmod sa/f %04o", (unsigned)modes[i]);
		T(d, chmod("sa/f", modes[i]));
		show("sa/f");
	}
	T("chmod sa/d 03775", chmod("sa/d", 03775));
	show("sa/d");
	T("chmod sa/d 0755", chmod("sa/d", 0755));
	T("utimensat sa/f to 1500000000", do_utimens("sa/f", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "sa/f");
	tick();
	T("chmod sa/f 0640", chmod("sa/f", 0640));
	since("sa/f", &s, 2 | 4 | 8);
	T("symlink sa/sl", symlink("f", "sa/sl"));
	T("fchmodat sa/sl AT_SYMLINK_NOFOLLOW", fchmodat(AT_FDCWD, "sa/sl", 0600, AT_SYMLINK_NOFOLLOW));
	show("sa/sl");
	show("sa/f");
}

static void s_chown(void)
{
	struct snap s;

	step("setattr: chown, lchown, suid/sgid clearing");
	T("mkfile sa/o", mkfile("sa/o", "chown me"));
	T("chown sa/o 1234:5678", chown("sa/o", 1234, 5678));
	show("sa/o");
	T("chown sa/o -1:42", chown("sa/o", -1, 42));
	show("sa/o");
	T("chown sa/o 7:-1", chown("sa/o", 7, -1));
	show("sa/o");
	T("chown sa/o 4294967294:4294967294", chown("sa/o", 4294967294u, 4294967294u));
	show("sa/o");
	T("chown sa/o 100000:100001 (32-bit ids)", chown("sa/o", 100000, 100001));
	show("sa/o");
	T("chmod sa/o 06755", chmod("sa/o", 06755));
	T("chown sa/o 0:0 (clears suid and sgid)", chown("sa/o", 0, 0));
	show("sa/o");
	T("chmod sa/o 02745", chmod("sa/o", 02745));
	T("chown sa/o 1:1 (sgid without group exec stays)", chown("sa/o", 1, 1));
	show("sa/o");
	T("chmod sa/d 06755", chmod("sa/d", 06755));
	T("chown sa/d 5:5 (directory keeps its bits)", chown("sa/d", 5, 5));
	show("sa/d");
	T("lchown sa/sl 11:12", lchown("sa/sl", 11, 12));
	show("sa/sl");
	show("sa/f");
	T("utimensat sa/o to 1500000000", do_utimens("sa/o", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "sa/o");
	tick();
	T("chown sa/o 2:2", chown("sa/o", 2, 2));
	since("sa/o", &s, 2 | 4 | 8);
	take(&s, "sa/o");
	tick();
	T("chown sa/o -1:-1 (no change)", chown("sa/o", -1, -1));
	since("sa/o", &s, 2 | 8);
}

static void s_truncate(void)
{
	struct snap s;
	int fd;

	step("setattr: truncate grow and shrink, zero fill");
	mkpat("sa/t", 10000, 1);
	T("truncate sa/t 5000", truncate("sa/t", 5000));
	T("truncate sa/t 20000", truncate("sa/t", 20000));
	show("sa/t");
	fd = open("sa/t", O_RDONLY);
	check_pat("sa/t", fd, 0, 5000, 1);
	check_zero("sa/t", fd, 5000, 15000);
	sum_fd("sa/t", fd);
	closefd(fd);

	/* Shrink inside a block, grow again: the old tail must not come back. */
	mkpat("sa/t2", 8192, 2);
	fd = TFD("open sa/t2 O_RDWR", open("sa/t2", O_RDWR));
	T("ftruncate sa/t2 5000", ftruncate(fd, 5000));
	T("ftruncate sa/t2 8192", ftruncate(fd, 8192));
	check_pat("sa/t2", fd, 0, 5000, 2);
	check_zero("sa/t2", fd, 5000, 3192);
	T("fsync", fsync(fd));
	check_zero("sa/t2 after fsync", fd, 5000, 3192);
	T("ftruncate sa/t2 1", ftruncate(fd, 1));
	T("ftruncate sa/t2 100000", ftruncate(fd, 100000));
	check_zero("sa/t2", fd, 1, 99999);
	T("ftruncate sa/t2 -1", ftruncate(fd, -1));
	showfd("sa/t2", fd);
	closefd(fd);
	T("truncate sa/t2 0", truncate("sa/t2", 0));
	show("sa/t2");
	T("truncate sa/d (a directory)", truncate("sa/d", 0));

	/* Same for a small (inline on inline_data) file. */
	T("mkfile sa/t3 40 bytes", mkfile("sa/t3", "0123456789012345678901234567890123456789"));
	T("truncate sa/t3 10", truncate("sa/t3", 10));
	T("truncate sa/t3 50", truncate("sa/t3", 50));
	fd = open("sa/t3", O_RDONLY);
	sum_fd("sa/t3", fd);
	check_zero("sa/t3", fd, 10, 40);
	closefd(fd);

	/* Times. */
	T("utimensat sa/t to 1500000000", do_utimens("sa/t", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "sa/t");
	tick();
	T("truncate sa/t 30000", truncate("sa/t", 30000));
	since("sa/t", &s, 2 | 4 | 8);
	take(&s, "sa/t");
	tick();
	T("truncate sa/t 30000 (same size)", truncate("sa/t", 30000));
	since("sa/t", &s, 2 | 4 | 8);
	show("sa/t");

	/* Leave a file for the offline (debugfs) check: 5000 x 'A' then zeros to 8192. */
	fd = open("keep/trunc", O_CREAT | O_RDWR, 0644);
	{
		char b[8192];

		memset(b, 'A', sizeof(b));
		T("write keep/trunc 8192 x A", write(fd, b, sizeof(b)));
	}
	T("ftruncate keep/trunc 5000", ftruncate(fd, 5000));
	T("ftruncate keep/trunc 8192", ftruncate(fd, 8192));
	closefd(fd);
}

static void s_utimens(void)
{
	struct timespec ts[2];
	struct snap s;
	int fd;

	step("setattr: utimensat explicit times, UTIME_NOW, UTIME_OMIT");
	T("mkfile sa/u", mkfile("sa/u", "times"));
	T("utimensat atime 1234567890.123456789 mtime 2^32+5 .000000500",
	  do_utimens("sa/u", 1234567890, 123456789, 4294967296LL + 5, 500, 0));
	show_times("sa/u", 3);
	T("utimensat atime 0.0 mtime 2^31-1 .999999999",
	  do_utimens("sa/u", 0, 0, 2147483647, 999999999, 0));
	show_times("sa/u", 3);
	T("utimensat atime -1.500000000 mtime -1234567890.000000001",
	  do_utimens("sa/u", -1, 500000000, -1234567890LL, 1, 0));
	show_times("sa/u", 3);
	T("utimensat atime -2^31 mtime 2^31",
	  do_utimens("sa/u", -2147483648LL, 0, 2147483648LL, 0, 0));
	show_times("sa/u", 3);
	T("utimensat atime 2^34-2^31-1 (ext4 max) mtime 3000000000.5",
	  do_utimens("sa/u", 17179869183LL - 2147483648LL, 0, 3000000000LL, 500000000, 0));
	show_times("sa/u", 3);
	T("utimensat atime 2^35 (past the ext4 range) mtime -2^31-100 (before it)",
	  do_utimens("sa/u", 34359738368LL, 7, -2147483748LL, 7, 0));
	show_times("sa/u", 3);
	T("utimensat nsec 1000000000 (EINVAL)", do_utimens("sa/u", 1, 1000000000, 1, 0, 0));
	T("utimensat atime 1600000000.1 mtime 1600000000.2",
	  do_utimens("sa/u", 1600000000, 1, 1600000000, 2, 0));
	show_times("sa/u", 3);

	ts[0].tv_sec = 1; ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 1700000000; ts[1].tv_nsec = 42;
	T("utimensat atime UTIME_OMIT mtime 1700000000.000000042", utimensat(AT_FDCWD, "sa/u", ts, 0));
	show_times("sa/u", 3);
	take(&s, "sa/u");
	tick();
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_OMIT;
	T("utimensat atime UTIME_NOW mtime UTIME_OMIT", utimensat(AT_FDCWD, "sa/u", ts, 0));
	show_times("sa/u", 2);
	{
		struct stat st;

		qstat("sa/u", &st);
		out("atime is %s", recent(st.st_atim, s.before));
	}
	since("sa/u", &s, 4 | 8);
	take(&s, "sa/u");
	tick();
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_OMIT;
	T("utimensat both UTIME_OMIT", utimensat(AT_FDCWD, "sa/u", ts, 0));
	since("sa/u", &s, 1 | 2 | 4);
	take(&s, "sa/u");
	tick();
	T("utimensat NULL (both now)", utimensat(AT_FDCWD, "sa/u", NULL, 0));
	since("sa/u", &s, 1 | 2 | 4 | 8);
	fd = open("sa/u", O_RDWR);
	ts[0].tv_sec = 1111111111; ts[0].tv_nsec = 111;
	ts[1].tv_sec = 1222222222; ts[1].tv_nsec = 222;
	T("futimens fd 1111111111.000000111 1222222222.000000222", futimens(fd, ts));
	closefd(fd);
	show_times("sa/u", 3);
	T("utimensat sa/sl AT_SYMLINK_NOFOLLOW 1300000000 1300000001",
	  do_utimens("sa/sl", 1300000000, 0, 1300000001, 0, AT_SYMLINK_NOFOLLOW));
	show_times("sa/sl", 3);
	show_times("sa/f", 2);
	T("utimensat sa/d 1400000000.5 1400000000.6", do_utimens("sa/d", 1400000000, 5, 1400000000, 6, 0));
	show_times("sa/d", 3);
	/* Writing moves mtime and ctime. */
	T("utimensat sa/u 1500000000", do_utimens("sa/u", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "sa/u");
	tick();
	fd = open("sa/u", O_WRONLY);
	T("write sa/u", write(fd, "more", 4));
	closefd(fd);
	since("sa/u", &s, 2 | 4 | 8);
	{
		struct stat st;

		qstat("sa/u", &st);
		out("mtime is %s", recent(st.st_mtim, s.before));
	}
	/* Creating an entry moves the directory's mtime and ctime. */
	T("utimensat sa 1500000000", do_utimens("sa", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "sa");
	tick();
	T("mkfile sa/new", mkfile("sa/new", NULL));
	since("sa", &s, 2 | 4 | 8);
	take(&s, "sa");
	tick();
	T("unlink sa/new", unlink("sa/new"));
	since("sa", &s, 2 | 4 | 8);
}

static void s_mknod(void)
{
	step("mknod: fifo, char and block devices, socket");
	T("mkdir nd", mkdir("nd", 0755));
	T("mknod nd/fifo S_IFIFO 0644", mknod("nd/fifo", S_IFIFO | 0644, 0));
	T("mkfifo nd/fifo2 0600", mkfifo("nd/fifo2", 0600));
	T("mknod nd/chr S_IFCHR 0620 1:3", mknod("nd/chr", S_IFCHR | 0620, makedev(1, 3)));
	T("mknod nd/chrbig S_IFCHR 0600 300:70000", mknod("nd/chrbig", S_IFCHR | 0600, makedev(300, 70000)));
	T("mknod nd/blk S_IFBLK 0660 8:17", mknod("nd/blk", S_IFBLK | 0660, makedev(8, 17)));
	T("mknod nd/sock S_IFSOCK 0755", mknod("nd/sock", S_IFSOCK | 0755, 0));
	T("mknod nd/reg S_IFREG 0640", mknod("nd/reg", S_IFREG | 0640, 0));
	T("mknod nd/fifo (exists)", mknod("nd/fifo", S_IFIFO | 0644, 0));
	T("mknod nd/bad S_IFDIR", mknod("nd/bad", S_IFDIR | 0755, 0));
	show("nd/fifo");
	show("nd/fifo2");
	show("nd/chr");
	show("nd/chrbig");
	show("nd/blk");
	show("nd/sock");
	show("nd/reg");
	T("chmod nd/chr 0644", chmod("nd/chr", 0644));
	show("nd/chr");
	T("open nd/fifo O_RDWR", ({ int fd = open("nd/fifo", O_RDWR | O_NONBLOCK); closefd(fd); fd < 0 ? -1 : 0; }));
	list_dir("nd");
}

static void s_dirs(void)
{
	step("mkdir, rmdir, unlink: ENOTEMPTY, ENOTDIR, EISDIR, nlink");
	T("mkdir dr", mkdir("dr", 0755));
	show("dr");
	T("mkdir dr/a 0700", mkdir("dr/a", 0700));
	T("mkdir dr/b 07777", mkdir("dr/b", 07777));
	T("mkdir dr/a (exists)", mkdir("dr/a", 0755));
	T("mkfile dr/f", mkfile("dr/f", "file"));
	T("mkdir dr/f (a file)", mkdir("dr/f", 0755));
	T("mkdir dr/f/x (ENOTDIR)", mkdir("dr/f/x", 0755));
	show("dr");
	show("dr/a");
	show("dr/b");
	T("mkdir dr/a/sub", mkdir("dr/a/sub", 0755));
	show_nlink("dr/a");
	T("rmdir dr/a (ENOTEMPTY)", rmdir("dr/a"));
	T("rmdir dr/f (ENOTDIR)", rmdir("dr/f"));
	T("unlink dr/a (EISDIR)", unlink("dr/a"));
	T("rmdir dr/a/sub/. (EINVAL)", rmdir("dr/a/sub/."));
	T("rmdir dr/a/sub/.. (ENOTEMPTY)", rmdir("dr/a/sub/.."));
	T("rmdir dr/f/ (ENOTDIR)", rmdir("dr/f/"));
	T("unlink dr/f/ (ENOTDIR)", unlink("dr/f/"));
	T("rmdir dr/a/sub", rmdir("dr/a/sub"));
	show_nlink("dr/a");
	T("rmdir dr/a", rmdir("dr/a"));
	T("rmdir dr/a (again)", rmdir("dr/a"));
	T("unlink dr/f", unlink("dr/f"));
	T("unlink dr/f (again)", unlink("dr/f"));
	show("dr");
	list_dir("dr");
	/* An open directory that is removed. */
	{
		int fd;
		struct stat st;

		T("mkdir dr/gone", mkdir("dr/gone", 0755));
		fd = TFD("open dr/gone O_DIRECTORY", open("dr/gone", O_RDONLY | O_DIRECTORY));
		T("rmdir dr/gone", rmdir("dr/gone"));
		if (fd >= 0 && fstat(fd, &st) == 0)
			out("fstat removed dir: nlink=%lu", (unsigned long)st.st_nlink);
		T("openat(removed dir, x, O_CREAT)", openat(fd, "x", O_CREAT | O_WRONLY, 0644));
		T("fsync removed dir", fsync(fd));
		closefd(fd);
	}
	/* setgid directories: group and bit inheritance. */
	T("mkdir dr/sg", mkdir("dr/sg", 0755));
	T("chown dr/sg 0:777", chown("dr/sg", 0, 777));
	T("chmod dr/sg 02775", chmod("dr/sg", 02775));
	T("mkfile dr/sg/f", mkfile("dr/sg/f", NULL));
	T("mkdir dr/sg/d", mkdir("dr/sg/d", 0755));
	T("mknod dr/sg/fifo", mknod("dr/sg/fifo", S_IFIFO | 02755, 0));
	show("dr/sg/f");
	show("dr/sg/d");
	show("dr/sg/fifo");
	show("dr");
}

static void s_symlinks(void)
{
	static const size_t lens[] = {1, 30, 59, 60, 61, 500, 1023, 1024, 4000, 4095, 4096};
	char name[64], d[128], buf[5000];
	char *tgt = malloc(5000);
	struct stat st;

	step("symlinks: fast and slow, readlink");
	T("mkdir sl", mkdir("sl", 0755));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i];
		ssize_t r;

		for (size_t k = 0; k < n; k++)
			tgt[k] = "abcdefghij/klmnopqrstuvwxyz"[k % 27];
		tgt[n] = 0;
		snprintf(name, sizeof(name), "sl/len%zu", n);
		snprintf(d, sizeof(d), "symlink %s (target of %zu bytes)", name, n);
		if (T(d, symlink(tgt, name)) < 0)
			continue;
		show(name);
		r = readlink(name, buf, sizeof(buf));
		out("readlink %s -> %zd, %s", name, r,
		    r == (ssize_t)n && !memcmp(buf, tgt, n) ? "target matches" : "TARGET DIFFERS");
		if (qstat(name, &st) == 0)
			out("st_blocks %s = %lld (%s)", name, (long long)st.st_blocks,
			    st.st_blocks ? "target in a block" : "target in the inode");
	}
	T("symlink sl/tofile -> ../keep/trunc", symlink("../keep/trunc", "sl/tofile"));
	T("stat through sl/tofile", stat("sl/tofile", &st));
	out("followed: %s size=%lld", ftype(st.st_mode), (long long)st.st_size);
	T("readlink sl/len30 into 10 bytes", readlink("sl/len30", buf, 10));
	out("  got %.10s", buf);
	T("readlink of a file (EINVAL)", readlink("keep/trunc", buf, sizeof(buf)));
	T("readlink of a dir (EINVAL)", readlink("sl", buf, sizeof(buf)));
	T("symlink empty target (ENOENT)", symlink("", "sl/empty"));
	T("symlink sl/len30 (exists)", symlink("x", "sl/len30"));
	T("open sl/len500 O_NOFOLLOW", open("sl/len500", O_RDONLY | O_NOFOLLOW));
	show("sl");
	free(tgt);
}

static void s_rename(void)
{
	int fd;
	char b[64];

	step("rename: file over file");
	T("mkdir rn", mkdir("rn", 0755));
	T("mkfile rn/src", mkfile("rn/src", "source content"));
	T("mkfile rn/dst", mkfile("rn/dst", "destination content"));
	T("link rn/dst rn/dst.link", link("rn/dst", "rn/dst.link"));
	fd = open("rn/dst", O_RDONLY);
	show_nlink("rn/dst");
	T("rename rn/src rn/dst", rename("rn/src", "rn/dst"));
	sum_path("rn/dst");
	show("rn/dst");
	show("rn/dst.link");
	sum_path("rn/dst.link");
	T("stat rn/src", access("rn/src", F_OK));
	if (fd >= 0) {
		struct stat st;

		fstat(fd, &st);
		out("replaced inode through open fd: nlink=%lu", (unsigned long)st.st_nlink);
		T("read it", read(fd, b, sizeof(b)));
		close(fd);
	}
	T("link rn/dst rn/dst.same", link("rn/dst", "rn/dst.same"));
	T("rename rn/dst rn/dst.same (same inode: no-op)", rename("rn/dst", "rn/dst.same"));
	show("rn/dst");
	show("rn/dst.same");
	T("unlink rn/dst.same", unlink("rn/dst.same"));
	T("rename rn/dst rn/dst (itself)", rename("rn/dst", "rn/dst"));
	T("rename rn/dst rn/renamed", rename("rn/dst", "rn/renamed"));
	list_dir("rn");

	step("rename: directories over directories and files");
	T("mkdir rn/d1", mkdir("rn/d1", 0755));
	T("mkdir rn/d1/c", mkdir("rn/d1/c", 0755));
	T("mkdir rn/empty", mkdir("rn/empty", 0755));
	T("mkdir rn/full", mkdir("rn/full", 0755));
	T("mkfile rn/full/x", mkfile("rn/full/x", "x"));
	T("mkdir rn/p2", mkdir("rn/p2", 0755));
	T("mkdir rn/p2/empty2", mkdir("rn/p2/empty2", 0755));
	show_nlink("rn");
	show_nlink("rn/p2");
	T("rename rn/d1 rn/empty (dir over empty dir)", rename("rn/d1", "rn/empty"));
	show_nlink("rn");
	show("rn/empty");
	T("access rn/d1", access("rn/d1", F_OK));
	T("rename rn/empty rn/full (dir over non-empty dir)", rename("rn/empty", "rn/full"));
	T("rename rn/renamed rn/full (file over dir)", rename("rn/renamed", "rn/full"));
	T("rename rn/full rn/renamed (dir over file)", rename("rn/full", "rn/renamed"));
	T("rename rn/empty rn/p2/empty2 (dir over empty dir, across)", rename("rn/empty", "rn/p2/empty2"));
	show_nlink("rn");
	show_nlink("rn/p2");
	same_inode("rn/p2/empty2/..", "rn/p2");
	same_inode("rn/p2/empty2/c/..", "rn/p2/empty2");
	T("rename rn/p2 rn/p2/empty2/c/into (into own subdir)", rename("rn/p2", "rn/p2/empty2/c/into"));
	T("rename rn/p2/empty2 rn/p2/empty2/c (over own subdir)", rename("rn/p2/empty2", "rn/p2/empty2/c"));
	T("rename rn/p2 rn/p2/x", rename("rn/p2", "rn/p2/x"));
	T("rename rn/p2/empty2/c rn/p2 (over ancestor: ENOTEMPTY)", rename("rn/p2/empty2/c", "rn/p2"));
	T("rename rn/full/. rn/dot", rename("rn/full/.", "rn/dot"));
	T("rename rn/full/x rn/full/x/y", rename("rn/full/x", "rn/full/x/y"));
	T("rename rn/full/x rn/p2/empty2/moved (file across dirs)", rename("rn/full/x", "rn/p2/empty2/moved"));
	T("rename rn/renamed rn/full/ (file to dir/ name)", rename("rn/renamed", "rn/full/"));
	list_dir("rn");
	list_dir("rn/p2/empty2");

	step("renameat2: RENAME_NOREPLACE, RENAME_EXCHANGE");
	T("mkfile rn/a", mkfile("rn/a", "AAAA"));
	T("mkfile rn/b", mkfile("rn/b", "BB"));
	T("renameat2 rn/a rn/b NOREPLACE (exists)",
	  syscall(SYS_renameat2, AT_FDCWD, "rn/a", AT_FDCWD, "rn/b", RENAME_NOREPLACE));
	T("renameat2 rn/a rn/c NOREPLACE",
	  syscall(SYS_renameat2, AT_FDCWD, "rn/a", AT_FDCWD, "rn/c", RENAME_NOREPLACE));
	sum_path("rn/c");
	T("renameat2 rn/c rn/b EXCHANGE",
	  syscall(SYS_renameat2, AT_FDCWD, "rn/c", AT_FDCWD, "rn/b", RENAME_EXCHANGE));
	sum_path("rn/b");
	sum_path("rn/c");
	T("renameat2 rn/c rn/missing EXCHANGE (ENOENT)",
	  syscall(SYS_renameat2, AT_FDCWD, "rn/c", AT_FDCWD, "rn/missing", RENAME_EXCHANGE));
	T("renameat2 NOREPLACE|EXCHANGE (EINVAL)",
	  syscall(SYS_renameat2, AT_FDCWD, "rn/c", AT_FDCWD, "rn/b", RENAME_EXCHANGE | RENAME_NOREPLACE));
	/* file <-> dir across directories */
	T("mkdir rn/X", mkdir("rn/X", 0755));
	T("mkdir rn/Y", mkdir("rn/Y", 0755));
	T("mkfile rn/X/file", mkfile("rn/X/file", "in X"));
	T("mkdir rn/Y/dir", mkdir("rn/Y/dir", 0750));
	T("mkfile rn/Y/dir/inner", mkfile("rn/Y/dir/inner", "inner"));
	show_nlink("rn/X");
	show_nlink("rn/Y");
	T("renameat2 rn/X/file rn/Y/dir EXCHANGE",
	  syscall(SYS_renameat2, AT_FDCWD, "rn/X/file", AT_FDCWD, "rn/Y/dir", RENAME_EXCHANGE));
	show("rn/X/file");
	show("rn/Y/dir");
	show_nlink("rn/X");
	show_nlink("rn/Y");
	same_inode("rn/X/file/..", "rn/X");
	sum_path("rn/X/file/inner");
	sum_path("rn/Y/dir");
	list_dir("rn/X");
	list_dir("rn/Y");
	T("renameat2 rn/X rn/X/file EXCHANGE (into own subdir)",
	  syscall(SYS_renameat2, AT_FDCWD, "rn/X", AT_FDCWD, "rn/X/file", RENAME_EXCHANGE));
	T("renameat2 rn/X rn/Y EXCHANGE (two dirs)",
	  syscall(SYS_renameat2, AT_FDCWD, "rn/X", AT_FDCWD, "rn/Y", RENAME_EXCHANGE));
	list_dir("rn/X");
	same_inode("rn/Y/file/..", "rn/Y");
	show_nlink("rn/X");
	show_nlink("rn/Y");
	T("renameat2 flags 0x80 (EINVAL)", syscall(SYS_renameat2, AT_FDCWD, "rn/b", AT_FDCWD, "rn/c", 0x80));
}

static void s_link(void)
{
	struct snap s;
	int fd;

	step("link: shared content and nlink, EPERM on directories");
	T("mkdir ln", mkdir("ln", 0755));
	T("mkfile ln/f", mkfile("ln/f", "shared"));
	T("utimensat ln/f 1500000000", do_utimens("ln/f", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "ln/f");
	tick();
	T("link ln/f ln/g", link("ln/f", "ln/g"));
	since("ln/f", &s, 2 | 4);
	T("mkdir ln/sub", mkdir("ln/sub", 0755));
	T("link ln/f ln/sub/h", link("ln/f", "ln/sub/h"));
	show("ln/f");
	show("ln/g");
	fd = open("ln/g", O_WRONLY | O_APPEND);
	T("append through ln/g", write(fd, " and more", 9));
	closefd(fd);
	sum_path("ln/f");
	sum_path("ln/sub/h");
	T("link ln/f ln/g (exists)", link("ln/f", "ln/g"));
	T("link ln/sub ln/sub2 (dir: EPERM)", link("ln/sub", "ln/sub2"));
	T("link ln/missing ln/x", link("ln/missing", "ln/x"));
	T("link ln/f ln/missing/x", link("ln/f", "ln/missing/x"));
	T("symlink ln/sym -> f", symlink("f", "ln/sym"));
	T("link ln/sym ln/sym.hard (links the symlink)", link("ln/sym", "ln/sym.hard"));
	show("ln/sym.hard");
	show_nlink("ln/sym");
	T("linkat AT_SYMLINK_FOLLOW ln/sym ln/f3", linkat(AT_FDCWD, "ln/sym", AT_FDCWD, "ln/f3", AT_SYMLINK_FOLLOW));
	show_nlink("ln/f");
	T("unlink ln/g", unlink("ln/g"));
	show_nlink("ln/f");
	T("unlink ln/f", unlink("ln/f"));
	show("ln/sub/h");
	sum_path("ln/sub/h");
	T("mknod ln/fifo", mknod("ln/fifo", S_IFIFO | 0644, 0));
	T("link ln/fifo ln/fifo2", link("ln/fifo", "ln/fifo2"));
	show("ln/fifo2");
	list_dir("ln");
	/* Copy for the offline check. */
	T("link ln/sub/h keep/linked", link("ln/sub/h", "keep/linked"));
}

static void s_open(void)
{
	struct snap s;
	char b[64];
	int fd;

	step("open/create: O_TRUNC, O_APPEND, O_EXCL, O_DIRECTORY");
	T("mkdir op", mkdir("op", 0755));
	fd = TFD("open op/f O_CREAT|O_WRONLY 0666 (umask 022)", open("op/f", O_CREAT | O_WRONLY, 0666));
	T("write 100 bytes", write(fd, rep('q', 100), 100));
	closefd(fd);
	show("op/f");
	fd = TFD("open op/f O_CREAT|O_EXCL", open("op/f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	closefd(fd);
	fd = TFD("open op/f O_CREAT (exists, no O_EXCL)", open("op/f", O_CREAT | O_RDONLY, 0600));
	closefd(fd);
	show("op/f");
	T("utimensat op/f 1500000000", do_utimens("op/f", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "op/f");
	tick();
	fd = TFD("open op/f O_TRUNC|O_WRONLY", open("op/f", O_TRUNC | O_WRONLY));
	closefd(fd);
	show("op/f");
	since("op/f", &s, 2 | 4 | 8);
	T("utimensat op/f 1500000000", do_utimens("op/f", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "op/f");
	tick();
	fd = TFD("open op/f O_TRUNC|O_WRONLY on an empty file", open("op/f", O_TRUNC | O_WRONLY));
	closefd(fd);
	since("op/f", &s, 2);
	T("write op/f 'hello'", mkfile("op/f", "hello"));
	fd = TFD("open op/f O_TRUNC|O_RDONLY", open("op/f", O_TRUNC | O_RDONLY));
	closefd(fd);
	show("op/f");
	T("write op/f 'hello'", mkfile("op/f", "hello"));
	fd = TFD("open op/f O_WRONLY|O_APPEND", open("op/f", O_WRONLY | O_APPEND));
	T("lseek 0", lseek(fd, 0, SEEK_SET));
	T("write ' world'", write(fd, " world", 6));
	T("lseek SEEK_CUR", lseek(fd, 0, SEEK_CUR));
	T("pwrite '!' at 0 (appends on Linux)", pwrite(fd, "!", 1, 0));
	closefd(fd);
	sum_path("op/f");
	fd = open("op/f", O_RDONLY);
	memset(b, 0, sizeof(b));
	T("read", read(fd, b, sizeof(b) - 1));
	out("  content '%s'", b);
	closefd(fd);
	fd = TFD("open op O_WRONLY (a dir)", open("op", O_WRONLY));
	closefd(fd);
	fd = TFD("open op O_RDWR (a dir)", open("op", O_RDWR));
	closefd(fd);
	fd = TFD("open op/f O_DIRECTORY", open("op/f", O_RDONLY | O_DIRECTORY));
	closefd(fd);
	fd = TFD("open op/new/ O_CREAT", open("op/new/", O_CREAT | O_WRONLY, 0644));
	closefd(fd);
	fd = TFD("open op O_CREAT (a dir)", open("op", O_CREAT | O_RDONLY, 0644));
	closefd(fd);
	fd = TFD("open op/missing O_RDONLY", open("op/missing", O_RDONLY));
	closefd(fd);
	fd = TFD("open op/excl O_CREAT|O_EXCL 0400", open("op/excl", O_CREAT | O_EXCL | O_RDWR, 0400));
	T("write to it through the new fd", write(fd, "ok", 2));
	closefd(fd);
	show("op/excl");
	fd = TFD("open op/excl O_RDWR again (root)", open("op/excl", O_RDWR));
	closefd(fd);
	fd = TFD("O_TMPFILE in op", open("op", O_TMPFILE | O_RDWR, 0600));
	if (fd >= 0) {
		T("write to the tmpfile", write(fd, "tmp", 3));
		showfd("tmpfile", fd);
		T("linkat tmpfile op/tmp.linked",
		  ({ char p[64]; snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		     linkat(AT_FDCWD, p, AT_FDCWD, "op/tmp.linked", AT_SYMLINK_FOLLOW); }));
		closefd(fd);
		show("op/tmp.linked");
		sum_path("op/tmp.linked");
		T("unlink op/tmp.linked", unlink("op/tmp.linked"));
	}
	list_dir("op");
}

static void s_rw(void)
{
	char b[256];
	int fd;

	step("read/write at various offsets, pread past EOF, fsync, fdatasync");
	T("mkdir io", mkdir("io", 0755));
	fd = TFD("open io/f O_CREAT|O_RDWR", open("io/f", O_CREAT | O_RDWR, 0644));
	pwrite_pat("pwrite 100 at 0", fd, 100, 0, 3);
	pwrite_pat("pwrite 10 at 4090 (crosses a 4 KiB boundary)", fd, 10, 4090, 3);
	pwrite_pat("pwrite 4096 at 4096", fd, 4096, 4096, 3);
	pwrite_pat("pwrite 1 at 1023", fd, 1, 1023, 3);
	pwrite_pat("pwrite 3000 at 10000", fd, 3000, 10000, 3);
	pwrite_pat("pwrite 70000 at 100000", fd, 70000, 100000, 3);
	pwrite_pat("pwrite 0 at 500000", fd, 0, 500000, 3);
	showfd("io/f", fd);
	check_pat("io/f", fd, 0, 100, 3);
	check_zero("io/f", fd, 100, 923);
	check_pat("io/f", fd, 1023, 1, 3);
	check_zero("io/f", fd, 1024, 4090 - 1024);
	check_pat("io/f", fd, 4090, 4102, 3);
	check_zero("io/f", fd, 8192, 10000 - 8192);
	check_pat("io/f", fd, 10000, 3000, 3);
	check_zero("io/f", fd, 13000, 87000);
	check_pat("io/f", fd, 100000, 70000, 3);
	T("pread 100 at 170000 (EOF)", pread(fd, b, 100, 170000));
	T("pread 100 at 169950 (50 before EOF)", pread(fd, b, 100, 169950));
	T("pread 100 at 1000000 (past EOF)", pread(fd, b, 100, 1000000));
	T("pread at -1", pread(fd, b, 100, -1));
	T("lseek SEEK_END", lseek(fd, 0, SEEK_END));
	T("lseek -1 SEEK_SET", lseek(fd, -1, SEEK_SET));
	T("lseek 1 TiB SEEK_SET", lseek(fd, 1LL << 40, SEEK_SET));
	T("read at 1 TiB", read(fd, b, 10));
	T("fsync", fsync(fd));
	T("fdatasync", fdatasync(fd));
	/* Overwrite in the middle, then read everything again. */
	pwrite_pat("pwrite 5000 at 2000 (overwrite, seed 4)", fd, 5000, 2000, 4);
	check_pat("io/f", fd, 2000, 5000, 4);
	check_pat("io/f", fd, 7000, 1192, 3);
	sum_fd("io/f", fd);
	T("fdatasync", fdatasync(fd));
	closefd(fd);
	T("write to a O_RDONLY fd (EBADF)", ({ int f = open("io/f", O_RDONLY); long r = write(f, "x", 1);
					      int e = errno; closefd(f); errno = e; r; }));
	T("read from a O_WRONLY fd (EBADF)", ({ int f = open("io/f", O_WRONLY); long r = read(f, b, 1);
					       int e = errno; closefd(f); errno = e; r; }));
	fd = open("io/f", O_RDONLY);
	T("read a dir fd (EISDIR)", ({ int f = open("io", O_RDONLY); long r = read(f, b, 1);
				       int e = errno; closefd(f); errno = e; r; }));
	closefd(fd);

	/* The seq file for the offline check: "1\n2\n...20000\n". */
	fd = open("keep/seq", O_CREAT | O_TRUNC | O_WRONLY, 0644);
	{
		FILE *f = fdopen(fd, "w");

		for (int i = 1; i <= 20000; i++)
			fprintf(f, "%d\n", i);
		T("fclose keep/seq", fclose(f));
	}
	T("mkfile keep/small", mkfile("keep/small", "small file\n"));

	/* A small (inline on inline_data) file that grows past the inode. */
	T("mkfile io/grow 10 bytes", mkfile("io/grow", "0123456789"));
	fd = open("io/grow", O_RDWR | O_APPEND);
	T("append 90 bytes", write(fd, rep('g', 90), 90));
	sum_fd("io/grow", fd);
	T("append 4000 bytes", write(fd, rep('h', 4000), 4000));
	T("append 4000 bytes", write(fd, rep('i', 4000), 4000));
	showfd("io/grow", fd);
	sum_fd("io/grow", fd);
	T("ftruncate 20", ftruncate(fd, 20));
	sum_fd("io/grow", fd);
	closefd(fd);

	/* mmap: shared writes seen by read(), written data seen through a mapping. */
	fd = open("io/mm", O_CREAT | O_RDWR, 0644);
	T("ftruncate io/mm 3 pages", ftruncate(fd, 3 * 4096));
	{
		unsigned char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (m == MAP_FAILED) {
			out("mmap io/mm -> %s", errname(errno));
		} else {
			fill(m + 4096, 4096, 12, 4096);
			memcpy(m + 100, "mapped", 6);
			T("msync", msync(m, 3 * 4096, MS_SYNC));
			check_pat("io/mm", fd, 4096, 4096, 12);
			T("pwrite 'written' at 9000", pwrite(fd, "written", 7, 9000));
			out("  seen through the mapping: %s", !memcmp(m + 9000, "written", 7) ? "yes" : "NO");
			out("  mapping of the hole reads zeros: %s", m[8192] == 0 && m[12287] == 0 ? "yes" : "NO");
			munmap(m, 3 * 4096);
		}
	}
	sum_fd("io/mm", fd);
	closefd(fd);

	/* O_DIRECT, block-aligned. */
	{
		void *buf = NULL;

		if (posix_memalign(&buf, 4096, 8192) == 0 && buf) {
			fill(buf, 8192, 13, 0);
			fd = TFD("open io/direct O_CREAT|O_RDWR|O_DIRECT", open("io/direct", O_CREAT | O_RDWR | O_DIRECT, 0644));
			T("pwrite 8192 at 0 (O_DIRECT)", pwrite(fd, buf, 8192, 0));
			T("pwrite 4096 at 16384 (O_DIRECT)", pwrite(fd, buf, 4096, 16384));
			memset(buf, 0, 8192);
			T("pread 8192 at 0 (O_DIRECT)", pread(fd, buf, 8192, 0));
			{
				unsigned char ref[8192];

				fill(ref, 8192, 13, 0);
				out("  O_DIRECT read back: %s", !memcmp(ref, buf, 8192) ? "matches" : "DIFFERS");
			}
			closefd(fd);
			free(buf);
			show("io/direct");
			sum_path("io/direct");
		}
	}
	show("keep/seq");
	sum_path("keep/seq");
}

static void s_big(void)
{
	const off_t five = 5LL << 30;
	char b[16] = "";
	int fd;

	step("write at 5 GiB: sparse file");
	fd = TFD("open io/big O_CREAT|O_RDWR", open("io/big", O_CREAT | O_RDWR, 0644));
	T("pwrite 'hello' at 5 GiB", pwrite(fd, "hello", 5, five));
	showfd("io/big", fd);
	T("fsync", fsync(fd));
	{
		struct stat st;

		fstat(fd, &st);
		out("st_blocks after fsync = %lld", (long long)st.st_blocks);
	}
	T("pread 5 at 5 GiB", pread(fd, b, 5, five));
	out("  '%.5s'", b);
	check_zero("io/big", fd, 0, 65536);
	check_zero("io/big", fd, (3LL << 30) + 12345, 65536);
	check_zero("io/big", fd, five - 65536, 65536);
	T("pread 10 at 5 GiB + 5", pread(fd, b, 10, five + 5));
	T("ftruncate to 5 GiB + 2", ftruncate(fd, five + 2));
	T("pread 10 at 5 GiB", pread(fd, b, 10, five));
	T("ftruncate to 3 GiB", ftruncate(fd, 3LL << 30));
	T("fdatasync", fdatasync(fd));
	{
		struct stat st;

		fstat(fd, &st);
		out("size=%lld st_blocks=%lld", (long long)st.st_size, (long long)st.st_blocks);
	}
	T("pwrite 'x' at 2^40 (1 TiB)", pwrite(fd, "x", 1, 1LL << 40));
	T("pwrite 'x' at 2^44 (16 TiB, EFBIG past the maximum file size)", pwrite(fd, "x", 1, 1LL << 44));
	showfd("io/big", fd);
	T("ftruncate to 0", ftruncate(fd, 0));
	showfd("io/big", fd);
	closefd(fd);
	/* Keep a sparse file for the offline check: 1 MiB hole, then "tail\n". */
	fd = open("keep/sparse", O_CREAT | O_TRUNC | O_WRONLY, 0644);
	T("pwrite keep/sparse 'tail\\n' at 1 MiB", pwrite(fd, "tail\n", 5, 1 << 20));
	closefd(fd);
}

static void s_unlink_open(void)
{
	char b[64] = "";
	struct stat st;
	int fd, fd2;

	step("unlink while open");
	T("mkfile io/open", mkfile("io/open", "still readable"));
	fd = TFD("open io/open O_RDWR", open("io/open", O_RDWR));
	fd2 = TFD("open io/open O_RDONLY", open("io/open", O_RDONLY));
	T("unlink io/open", unlink("io/open"));
	T("access io/open", access("io/open", F_OK));
	T("pread through fd", pread(fd, b, sizeof(b) - 1, 0));
	out("  '%s'", b);
	if (fstat(fd, &st) == 0)
		out("fstat: nlink=%lu size=%lld", (unsigned long)st.st_nlink, (long long)st.st_size);
	T("pwrite 'AGAIN' at 100000 through fd", pwrite(fd, "AGAIN", 5, 100000));
	T("fsync", fsync(fd));
	T("fchmod 0600", fchmod(fd, 0600));
	T("fsetxattr user.x", fsetxattr(fd, "user.x", "1", 1, 0));
	showfd("unlinked", fd);
	memset(b, 0, sizeof(b));
	T("pread at 100000 through the other fd", pread(fd2, b, 5, 100000));
	out("  '%s'", b);
	T("ftruncate 10", ftruncate(fd, 10));
	showfd("unlinked", fd2);
	T("mkfile io/open (a new file with the name)", mkfile("io/open", "new"));
	sum_path("io/open");
	sum_fd("old fd", fd2);
	closefd(fd);
	closefd(fd2);
	T("link from /proc/self/fd of an unlinked file (ENOENT)",
	  ({ int f = open("io/open", O_RDONLY); char p[64]; long r;
	     unlink("io/open");
	     snprintf(p, sizeof(p), "/proc/self/fd/%d", f);
	     r = linkat(AT_FDCWD, p, AT_FDCWD, "io/back", AT_SYMLINK_FOLLOW);
	     int e = errno; closefd(f); errno = e; r; }));
	list_dir("io");
}

/* ------------------------------------------------------------ directories */

#define NBIG 3000

static int name_index(const char *n, const char *prefix)
{
	size_t l = strlen(prefix);
	char *end;
	long v;

	if (strncmp(n, prefix, l))
		return -1;
	v = strtol(n + l, &end, 10);
	return *end || v < 0 || v >= 100000 ? -1 : (int)v;
}

static void s_bigdir(void)
{
	static unsigned char seen[NBIG];
	char p[128];
	DIR *d;
	struct dirent *de;
	long *pos = calloc(NBIG + 8, sizeof(long));
	char **names = calloc(NBIG + 8, sizeof(char *));
	int n = 0, bad = 0, dup = 0, missing = 0, other = 0, errs = 0, fd;

	step("readdir of 3000 entries (htree), telldir/seekdir");
	T("mkdir bd", mkdir("bd", 0755));
	for (int i = 0; i < NBIG; i++) {
		snprintf(p, sizeof(p), "bd/entry-with-a-longish-name-%d", i);
		if (i % 3 == 0)
			errs += mkdir(p, 0755) != 0;
		else
			errs += mknod(p, S_IFREG | 0644, 0) != 0;
	}
	out("created %d entries (a third of them directories), failures: %d", NBIG, errs);
	show("bd");
	d = opendir("bd");
	if (!d) {
		out("opendir bd -> %s", errname(errno));
		free(pos);
		free(names);
		return;
	}
	for (;;) {
		long here = telldir(d);
		int k;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (n < NBIG + 8) {
			pos[n] = here;
			names[n] = strdup(de->d_name);
			n++;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		k = name_index(de->d_name, "entry-with-a-longish-name-");
		if (k < 0 || k >= NBIG) {
			other++;
			continue;
		}
		if (seen[k]++)
			dup++;
		if (de->d_type != (k % 3 == 0 ? DT_DIR : DT_REG))
			bad++;
	}
	if (errno)
		out("readdir -> %s", errname(errno));
	for (int k = 0; k < NBIG; k++)
		missing += !seen[k];
	out("readdir: %d entries returned; missing %d, duplicates %d, unexpected %d, wrong d_type %d",
	    n, missing, dup, other, bad);
	/* seekdir to positions noted by telldir must give the same entries again. */
	{
		int checked = 0, wrong = 0;

		for (int i = n - 1; i >= 0; i -= 97) {
			seekdir(d, pos[i]);
			de = readdir(d);
			checked++;
			if (!de || strcmp(de->d_name, names[i]))
				wrong++;
			/* and the one after it */
			if (i + 1 < n) {
				de = readdir(d);
				if (!de || strcmp(de->d_name, names[i + 1]))
					wrong++;
			}
		}
		out("seekdir/telldir: %s (%s)", wrong ? "INCONSISTENT" : "consistent",
		    checked > 20 ? "more than 20 positions" : "few positions");
		rewinddir(d);
		de = readdir(d);
		out("rewinddir: first entry %s", de && n && !strcmp(de->d_name, names[0]) ? "same" : "DIFFERS");
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		free(names[i]);
	show_nlink("bd");
	T("rmdir bd (ENOTEMPTY)", rmdir("bd"));
	/* Remove two thirds, then look again. */
	errs = 0;
	for (int i = 0; i < NBIG; i++) {
		if (i % 3 == 1)
			continue;
		snprintf(p, sizeof(p), "bd/entry-with-a-longish-name-%d", i);
		errs += (i % 3 == 0 ? rmdir(p) : unlink(p)) != 0;
	}
	out("removed 2000 entries, failures: %d", errs);
	memset(seen, 0, sizeof(seen));
	n = dup = missing = other = 0;
	d = opendir("bd");
	while (d && (de = readdir(d))) {
		int k = name_index(de->d_name, "entry-with-a-longish-name-");

		n++;
		if (k < 0)
			continue;
		if (seen[k]++)
			dup++;
	}
	if (d)
		closedir(d);
	for (int k = 0; k < NBIG; k++)
		missing += (k % 3 == 1) != seen[k];
	out("after removal: %d entries (with . and ..); wrong %d, duplicates %d", n, missing, dup);
	show_nlink("bd");
	snprintf(p, sizeof(p), "bd/entry-with-a-longish-name-%d", 1501);
	show(p);
	snprintf(p, sizeof(p), "bd/entry-with-a-longish-name-%d", 1500);
	T("lstat a removed entry", access(p, F_OK));
	fd = TFD("open bd O_DIRECTORY", open("bd", O_RDONLY | O_DIRECTORY));
	T("fsync on a directory", fsync(fd));
	T("fdatasync on a directory", fdatasync(fd));
	closefd(fd);
	free(pos);
	free(names);
}

/* Entries added and removed while a directory is being read. */
static void s_dir_mutate(void)
{
	static unsigned char seen[2000];
	char p[128];
	DIR *d;
	struct dirent *de;
	int n = 0, dup = 0, stable_missing = 0, added = 0;

	step("readdir while entries are added and removed");
	T("mkdir mu", mkdir("mu", 0755));
	for (int i = 0; i < 600; i++) {
		snprintf(p, sizeof(p), "mu/n%d", i);
		mknod(p, S_IFREG | 0644, 0);
	}
	d = opendir("mu");
	while (d && n < 150 && (de = readdir(d))) {
		int k = name_index(de->d_name, "n");

		n++;
		if (k >= 0 && k < 2000 && seen[k]++)
			dup++;
	}
	/* Remove every entry with i % 4 == 0, add 800 new ones (n1000..n1799). */
	for (int i = 0; i < 600; i += 4) {
		snprintf(p, sizeof(p), "mu/n%d", i);
		unlink(p);
	}
	for (int i = 1000; i < 1800; i++) {
		snprintf(p, sizeof(p), "mu/n%d", i);
		mknod(p, S_IFREG | 0644, 0);
	}
	while (d && (de = readdir(d))) {
		int k = name_index(de->d_name, "n");

		n++;
		if (k >= 0 && k < 2000 && seen[k]++)
			dup++;
	}
	if (d)
		closedir(d);
	for (int i = 0; i < 600; i++)
		if (i % 4 && !seen[i])
			stable_missing++;
	for (int i = 1000; i < 1800; i++)
		added += seen[i] != 0;
	out("duplicates: %d; entries present throughout but not returned: %d", dup, stable_missing);
	out("(added entries returned: %s)", added >= 0 ? "some or none, not compared" : "");
	d = opendir("mu");
	n = 0;
	while (d && (de = readdir(d)))
		n++;
	if (d)
		closedir(d);
	out("a new readdir returns %d entries", n);
}

/* ------------------------------------------------------------ xattrs */

static void s_xattr(void)
{
	unsigned char *big = malloc(70000), buf[4096];
	struct snap s;
	ssize_t r;

	step("xattrs: user., trusted., security.: set, get, list, remove");
	T("mkdir xa", mkdir("xa", 0755));
	T("mkfile xa/f", mkfile("xa/f", "xattrs"));
	T("setxattr user.one = 'value one'", setxattr("xa/f", "user.one", "value one", 9, 0));
	T("setxattr trusted.two = 0x000102", setxattr("xa/f", "trusted.two", "\0\1\2", 3, 0));
	T("setxattr security.three = 'sec'", setxattr("xa/f", "security.three", "sec", 3, 0));
	T("setxattr user.empty = ''", setxattr("xa/f", "user.empty", "", 0, 0));
	T("setxattr user.x XATTR_CREATE", setxattr("xa/f", "user.x", "1", 1, XATTR_CREATE));
	list_xattrs("xa/f");
	T("getxattr user.one size query", getxattr("xa/f", "user.one", NULL, 0));
	T("getxattr user.one into 4 bytes (ERANGE)", getxattr("xa/f", "user.one", buf, 4));
	T("getxattr user.one into 9 bytes", getxattr("xa/f", "user.one", buf, 9));
	T("getxattr user.empty", getxattr("xa/f", "user.empty", buf, sizeof(buf)));
	T("getxattr user.missing (ENODATA)", getxattr("xa/f", "user.missing", buf, sizeof(buf)));
	T("listxattr into 3 bytes (ERANGE)", listxattr("xa/f", (char *)buf, 3));
	T("setxattr user.one XATTR_CREATE (EEXIST)", setxattr("xa/f", "user.one", "v", 1, XATTR_CREATE));
	T("setxattr user.nope XATTR_REPLACE (ENODATA)", setxattr("xa/f", "user.nope", "v", 1, XATTR_REPLACE));
	T("setxattr user.one XATTR_REPLACE 'replaced'", setxattr("xa/f", "user.one", "replaced", 8, XATTR_REPLACE));
	T("getxattr user.one", getxattr("xa/f", "user.one", buf, sizeof(buf)));
	T("removexattr user.x", removexattr("xa/f", "user.x"));
	T("removexattr user.x again (ENODATA)", removexattr("xa/f", "user.x"));
	T("setxattr unknown namespace foo.bar (EOPNOTSUPP)", setxattr("xa/f", "foo.bar", "v", 1, 0));
	T("setxattr 'user.' (empty name after prefix)", setxattr("xa/f", "user.", "v", 1, 0));
	T("setxattr name of 255 bytes", setxattr("xa/f", ({ static char n[300]; snprintf(n, sizeof(n), "user.%s", rep('n', 250)); n; }), "v", 1, 0));
	T("setxattr name of 256 bytes (ERANGE)", setxattr("xa/f", ({ static char n[300]; snprintf(n, sizeof(n), "user.%s", rep('n', 251)); n; }), "v", 1, 0));
	T("removexattr the 255-byte name", removexattr("xa/f", ({ static char n[300]; snprintf(n, sizeof(n), "user.%s", rep('n', 250)); n; })));
	fill(big, 70000, 5, 0);
	T("setxattr user.big 3000 bytes", setxattr("xa/f", "user.big", big, 3000, 0));
	r = T("getxattr user.big", getxattr("xa/f", "user.big", big + 10000, 5000));
	out("  value %s", r == 3000 && !memcmp(big, big + 10000, 3000) ? "matches" : "DIFFERS");
	T("setxattr user.huge 70000 bytes (E2BIG)", setxattr("xa/f", "user.huge", big, 70000, 0));
	T("setxattr user.b2 5000 bytes (more than a 4 KiB block)", setxattr("xa/f", "user.b2", big, 5000, 0));
	list_xattrs("xa/f");
	T("utimensat xa/f 1500000000", do_utimens("xa/f", 1500000000, 0, 1500000000, 0, 0));
	take(&s, "xa/f");
	tick();
	T("setxattr user.t", setxattr("xa/f", "user.t", "t", 1, 0));
	since("xa/f", &s, 2 | 4);
	take(&s, "xa/f");
	tick();
	T("removexattr user.t", removexattr("xa/f", "user.t"));
	since("xa/f", &s, 2 | 4);
	/* Many attributes: in-inode space, then the xattr block. */
	{
		char n[32];
		int fails = 0;

		T("removexattr user.big", removexattr("xa/f", "user.big"));
		for (int i = 0; i < 12; i++) {
			snprintf(n, sizeof(n), "user.many%02d", i);
			fails += setxattr("xa/f", n, big, 20, 0) != 0;
		}
		out("12 more 20-byte attributes: failures %d", fails);
		list_xattrs("xa/f");
		for (int i = 0; i < 12; i += 2) {
			snprintf(n, sizeof(n), "user.many%02d", i);
			removexattr("xa/f", n);
		}
	}
	/* Directories, symlinks, special files. */
	T("mkdir xa/d", mkdir("xa/d", 0755));
	T("setxattr xa/d user.d", setxattr("xa/d", "user.d", "dir", 3, 0));
	T("symlink xa/sl", symlink("f", "xa/sl"));
	T("lsetxattr xa/sl user.s (EPERM)", lsetxattr("xa/sl", "user.s", "s", 1, 0));
	T("lsetxattr xa/sl trusted.s", lsetxattr("xa/sl", "trusted.s", "s", 1, 0));
	T("mknod xa/fifo", mknod("xa/fifo", S_IFIFO | 0644, 0));
	T("lsetxattr xa/fifo user.s (EPERM)", lsetxattr("xa/fifo", "user.s", "s", 1, 0));
	T("lsetxattr xa/fifo trusted.s", lsetxattr("xa/fifo", "trusted.s", "s", 1, 0));
	T("getxattr through the symlink", getxattr("xa/sl", "user.one", buf, sizeof(buf)));
	list_xattrs("xa/d");
	list_xattrs("xa/sl");
	list_xattrs("xa/fifo");
	list_xattrs("xa/f");
	/* A value that grows out of the inode into the xattr block and back. */
	T("setxattr xa/d user.grow 10 bytes", setxattr("xa/d", "user.grow", big, 10, 0));
	T("setxattr xa/d user.grow 2000 bytes (replace)", setxattr("xa/d", "user.grow", big, 2000, 0));
	r = getxattr("xa/d", "user.grow", big + 10000, 5000);
	out("getxattr user.grow -> %zd, %s", r, r == 2000 && !memcmp(big, big + 10000, 2000) ? "matches" : "DIFFERS");
	T("setxattr xa/d user.grow 12 bytes (replace)", setxattr("xa/d", "user.grow", big + 1, 12, 0));
	r = getxattr("xa/d", "user.grow", big + 10000, 5000);
	out("getxattr user.grow -> %zd, %s", r, r == 12 && !memcmp(big + 1, big + 10000, 12) ? "matches" : "DIFFERS");
	list_xattrs("xa/d");
	T("setxattr keep/small user.keep 'kept'", setxattr("keep/small", "user.keep", "kept", 4, 0));
	free(big);
}

/* ------------------------------------------------------------ ACLs */

static void s_acl(void)
{
	unsigned char b[256];
	size_t n;
	int fd;

	step("POSIX ACLs: access ACL");
	T("mkdir acl", mkdir("acl", 0755));
	T("mkfile acl/f", mkfile("acl/f", "acl data\n"));
	{
		struct acle e[] = {{A_USER_OBJ, 6, A_UNDEF_ID}, {A_USER, 6, ACL_UID}, {A_GROUP_OBJ, 4, A_UNDEF_ID},
				   {A_MASK, 6, A_UNDEF_ID}, {A_OTHER, 0, A_UNDEF_ID}};

		n = acl_encode(b, e, 5);
	}
	T("setxattr acl/f system.posix_acl_access u::rw-,u:1234:rw-,g::r--,m::rw-,o::---",
	  setxattr("acl/f", "system.posix_acl_access", b, n, 0));
	show("acl/f");
	show_acl("acl/f", "system.posix_acl_access");
	list_xattrs("acl/f");
	T("chmod acl/f 0640 (mask becomes r--)", chmod("acl/f", 0640));
	show_acl("acl/f", "system.posix_acl_access");
	T("chmod acl/f 0660", chmod("acl/f", 0660));
	show_acl("acl/f", "system.posix_acl_access");
	show("acl/f");
	T("getxattr acl/f system.posix_acl_default (file: ENODATA)",
	  getxattr("acl/f", "system.posix_acl_default", b, sizeof(b)));
	T("setxattr acl/f system.posix_acl_default (file: EACCES)",
	  setxattr("acl/f", "system.posix_acl_default", b, n, 0));
	T("setxattr acl/f system.posix_acl_access of 3 bytes (EINVAL)",
	  setxattr("acl/f", "system.posix_acl_access", "abc", 3, 0));
	/* A minimal ACL is just the mode. */
	T("mkfile acl/min", mkfile("acl/min", "x"));
	{
		struct acle e[] = {{A_USER_OBJ, 7, A_UNDEF_ID}, {A_GROUP_OBJ, 5, A_UNDEF_ID}, {A_OTHER, 1, A_UNDEF_ID}};

		n = acl_encode(b, e, 3);
	}
	T("setxattr acl/min u::rwx,g::r-x,o::--x (minimal)", setxattr("acl/min", "system.posix_acl_access", b, n, 0));
	show("acl/min");
	T("getxattr acl/min system.posix_acl_access (gone: ENODATA)",
	  getxattr("acl/min", "system.posix_acl_access", b, sizeof(b)));
	/* Group entry and removal. */
	{
		struct acle e[] = {{A_USER_OBJ, 6, A_UNDEF_ID}, {A_GROUP_OBJ, 4, A_UNDEF_ID}, {A_GROUP, 7, 4321},
				   {A_MASK, 5, A_UNDEF_ID}, {A_OTHER, 4, A_UNDEF_ID}};

		n = acl_encode(b, e, 5);
	}
	T("setxattr acl/min u::rw-,g::r--,g:4321:rwx,m::r-x,o::r--", setxattr("acl/min", "system.posix_acl_access", b, n, 0));
	show("acl/min");
	show_acl("acl/min", "system.posix_acl_access");
	T("removexattr acl/min system.posix_acl_access", removexattr("acl/min", "system.posix_acl_access"));
	show("acl/min");
	T("access acl/f R_OK|W_OK (root)", access("acl/f", R_OK | W_OK));
	T("access acl/f X_OK (root, no x bit: EACCES)", access("acl/f", X_OK));
	T("access acl X_OK (root, dir)", access("acl", X_OK));

	step("POSIX ACLs: default ACL and inheritance");
	T("mkdir acl/d", mkdir("acl/d", 0755));
	{
		struct acle e[] = {{A_USER_OBJ, 7, A_UNDEF_ID}, {A_USER, 7, ACL_UID}, {A_GROUP_OBJ, 5, A_UNDEF_ID},
				   {A_MASK, 7, A_UNDEF_ID}, {A_OTHER, 5, A_UNDEF_ID}};

		n = acl_encode(b, e, 5);
	}
	T("setxattr acl/d system.posix_acl_default u::rwx,u:1234:rwx,g::r-x,m::rwx,o::r-x",
	  setxattr("acl/d", "system.posix_acl_default", b, n, 0));
	show("acl/d");
	show_acl("acl/d", "system.posix_acl_default");
	T("getxattr acl/d system.posix_acl_access (ENODATA)",
	  getxattr("acl/d", "system.posix_acl_access", b, sizeof(b)));
	fd = TFD("create acl/d/file 0666 (umask 022 is ignored)", open("acl/d/file", O_CREAT | O_WRONLY, 0666));
	T("write", write(fd, "inherited\n", 10));
	closefd(fd);
	show("acl/d/file");
	show_acl("acl/d/file", "system.posix_acl_access");
	T("getxattr acl/d/file system.posix_acl_default (ENODATA)",
	  getxattr("acl/d/file", "system.posix_acl_default", b, sizeof(b)));
	fd = TFD("create acl/d/ro 0444", open("acl/d/ro", O_CREAT | O_WRONLY, 0444));
	closefd(fd);
	show("acl/d/ro");
	show_acl("acl/d/ro", "system.posix_acl_access");
	T("mkdir acl/d/sub 0777", mkdir("acl/d/sub", 0777));
	show("acl/d/sub");
	show_acl("acl/d/sub", "system.posix_acl_access");
	show_acl("acl/d/sub", "system.posix_acl_default");
	T("mkdir acl/d/sub/deeper 0700", mkdir("acl/d/sub/deeper", 0700));
	show("acl/d/sub/deeper");
	show_acl("acl/d/sub/deeper", "system.posix_acl_access");
	T("mknod acl/d/fifo 0666", mknod("acl/d/fifo", S_IFIFO | 0666, 0));
	show("acl/d/fifo");
	show_acl("acl/d/fifo", "system.posix_acl_access");
	T("symlink acl/d/sl", symlink("file", "acl/d/sl"));
	show("acl/d/sl");
	T("lgetxattr acl/d/sl system.posix_acl_access (symlink: EOPNOTSUPP)",
	  lgetxattr("acl/d/sl", "system.posix_acl_access", b, sizeof(b)));
	/* A default ACL that is only the mode bits: umask is still ignored. */
	T("mkdir acl/d2", mkdir("acl/d2", 0755));
	{
		struct acle e[] = {{A_USER_OBJ, 7, A_UNDEF_ID}, {A_GROUP_OBJ, 7, A_UNDEF_ID}, {A_OTHER, 7, A_UNDEF_ID}};

		n = acl_encode(b, e, 3);
	}
	T("setxattr acl/d2 system.posix_acl_default u::rwx,g::rwx,o::rwx",
	  setxattr("acl/d2", "system.posix_acl_default", b, n, 0));
	fd = TFD("create acl/d2/f 0666", open("acl/d2/f", O_CREAT | O_WRONLY, 0666));
	closefd(fd);
	show("acl/d2/f");
	T("getxattr acl/d2/f system.posix_acl_access (ENODATA)",
	  getxattr("acl/d2/f", "system.posix_acl_access", b, sizeof(b)));
	T("removexattr acl/d system.posix_acl_default", removexattr("acl/d", "system.posix_acl_default"));
	fd = TFD("create acl/d/after 0666", open("acl/d/after", O_CREAT | O_WRONLY, 0666));
	closefd(fd);
	show("acl/d/after");
	list_xattrs("acl/d");
}

/* ------------------------------------------------------------ fallocate, SEEK_DATA */

static void seeks(const char *name, int fd, const off_t *offs, int n)
{
	for (int i = 0; i < n; i++) {
		off_t d, h;
		int ed, eh;

		errno = 0;
		d = lseek(fd, offs[i], SEEK_DATA);
		ed = errno;
		errno = 0;
		h = lseek(fd, offs[i], SEEK_HOLE);
		eh = errno;
		out("%s from %lld: SEEK_DATA -> %lld%s%s, SEEK_HOLE -> %lld%s%s", name, (long long)offs[i],
		    (long long)d, d < 0 ? " " : "", d < 0 ? errname(ed) : "",
		    (long long)h, h < 0 ? " " : "", h < 0 ? errname(eh) : "");
	}
}

static void s_fallocate(void)
{
	const off_t M = 1 << 20;
	int fd;

	step("fallocate: default, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE, COLLAPSE_RANGE");
	T("mkdir fa", mkdir("fa", 0755));
	fd = TFD("open fa/f O_CREAT|O_RDWR", open("fa/f", O_CREAT | O_RDWR, 0644));
	T("fallocate mode 0 [0, 1 MiB)", fallocate(fd, 0, 0, M));
	showfd("fa/f", fd);
	show_alloc("fa/f", 1024);
	check_zero("fa/f", fd, 0, M);
	T("fallocate KEEP_SIZE [1 MiB, 2 MiB)", fallocate(fd, FALLOC_FL_KEEP_SIZE, M, M));
	showfd("fa/f", fd);
	show_alloc("fa/f", 2048);
	T("fallocate mode 0 [100, 200) (already allocated)", fallocate(fd, 0, 100, 100));
	showfd("fa/f", fd);
	T("ftruncate 1.5 MiB (into the KEEP_SIZE blocks)", ftruncate(fd, M + M / 2));
	check_zero("fa/f", fd, M, M / 2);
	pwrite_pat("pwrite 256 KiB at 256 KiB", fd, 256 << 10, 256 << 10, 6);
	T("fsync", fsync(fd));
	show_alloc("fa/f", 2048);
	T("fallocate PUNCH_HOLE|KEEP_SIZE [300 KiB, +100 KiB)", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 300 << 10, 100 << 10));
	check_pat("fa/f", fd, 256 << 10, 44 << 10, 6);
	check_zero("fa/f", fd, 300 << 10, 100 << 10);
	check_pat("fa/f", fd, 400 << 10, 112 << 10, 6);
	showfd("fa/f", fd);
	show_alloc("fa/f", 2048 - 100);
	T("fallocate PUNCH_HOLE|KEEP_SIZE unaligned [1000, +3000)", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (256 << 10) + 1000, 3000));
	check_pat("fa/f", fd, 256 << 10, 1000, 6);
	check_zero("fa/f", fd, (256 << 10) + 1000, 3000);
	check_pat("fa/f", fd, (256 << 10) + 4000, 1000, 6);
	T("fallocate PUNCH_HOLE without KEEP_SIZE (EOPNOTSUPP)", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
	T("fallocate PUNCH_HOLE|KEEP_SIZE past EOF", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10 * M, M));
	showfd("fa/f", fd);
	T("fallocate ZERO_RANGE [440 KiB, +8 KiB)", fallocate(fd, FALLOC_FL_ZERO_RANGE, 440 << 10, 8 << 10));
	check_pat("fa/f", fd, 436 << 10, 4 << 10, 6);
	check_zero("fa/f", fd, 440 << 10, 8 << 10);
	check_pat("fa/f", fd, 448 << 10, 4 << 10, 6);
	T("fallocate ZERO_RANGE unaligned [460 KiB + 10, +5000)", fallocate(fd, FALLOC_FL_ZERO_RANGE, (460 << 10) + 10, 5000));
	check_pat("fa/f", fd, 460 << 10, 10, 6);
	check_zero("fa/f", fd, (460 << 10) + 10, 5000);
	check_pat("fa/f", fd, (460 << 10) + 5010, 100, 6);
	T("fallocate ZERO_RANGE [2 MiB, +1 MiB) past EOF (extends)", fallocate(fd, FALLOC_FL_ZERO_RANGE, 2 * M, M));
	showfd("fa/f", fd);
	T("fallocate ZERO_RANGE|KEEP_SIZE [4 MiB, +1 MiB)", fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 4 * M, M));
	showfd("fa/f", fd);
	T("fallocate len 0 (EINVAL)", fallocate(fd, 0, 0, 0));
	T("fallocate offset -1 (EINVAL)", fallocate(fd, 0, -1, 10));
	T("fallocate unknown mode 0x4000 (EOPNOTSUPP)", fallocate(fd, 0x4000, 0, 10));
	sum_fd("fa/f", fd);
	closefd(fd);
	T("fallocate on a O_RDONLY fd (EBADF)", ({ int f = open("fa/f", O_RDONLY); long r = fallocate(f, 0, 0, 10);
						    int e = errno; closefd(f); errno = e; r; }));

	/* COLLAPSE_RANGE and INSERT_RANGE: the result only. */
	mkpat("fa/c", 64 << 10, 7);
	fd = open("fa/c", O_RDWR);
	T("fallocate COLLAPSE_RANGE [8 KiB, +8 KiB)", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 8 << 10, 8 << 10));
	T("fallocate COLLAPSE_RANGE unaligned [100, +4096)", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 100, 4096));
	T("fallocate INSERT_RANGE [8 KiB, +8 KiB)", fallocate(fd, FALLOC_FL_INSERT_RANGE, 8 << 10, 8 << 10));
	closefd(fd);
	T("unlink fa/c", unlink("fa/c"));

	/* SEEK_DATA/SEEK_HOLE around a punched hole and preallocated blocks
	 * (never read, so that no page cache hides what the extents say). */
	fd = open("fa/s", O_CREAT | O_RDWR, 0644);
	pwrite_pat("pwrite fa/s 64 KiB at 0", fd, 64 << 10, 0, 11);
	T("fallocate fa/s mode 0 [64 KiB, +64 KiB)", fallocate(fd, 0, 64 << 10, 64 << 10));
	T("fallocate fa/s PUNCH_HOLE|KEEP_SIZE [16 KiB, +16 KiB)",
	  fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 16 << 10, 16 << 10));
	T("fsync", fsync(fd));
	showfd("fa/s", fd);
	{
		off_t o[] = {0, 16 << 10, 20 << 10, 32 << 10, 64 << 10, 100 << 10, 128 << 10};

		seeks("fa/s", fd, o, 7);
	}
	check_pat("fa/s", fd, 0, 16 << 10, 11);
	check_zero("fa/s", fd, 16 << 10, 16 << 10);
	check_pat("fa/s", fd, 32 << 10, 32 << 10, 11);
	check_zero("fa/s", fd, 64 << 10, 64 << 10);
	closefd(fd);

	/* A file of only unwritten (preallocated) blocks. */
	fd = open("fa/pre", O_CREAT | O_RDWR, 0644);
	T("fallocate fa/pre KEEP_SIZE [0, 64 KiB)", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 64 << 10));
	show_alloc("fa/pre", 64);
	T("pwrite 'abc' at 10000", pwrite(fd, "abc", 3, 10000));
	showfd("fa/pre", fd);
	check_zero("fa/pre", fd, 0, 10000);
	T("fsync", fsync(fd));
	show_alloc("fa/pre", 64);
	closefd(fd);
}

static void s_seek(void)
{
	const off_t M = 1 << 20;
	int fd;

	step("lseek SEEK_DATA / SEEK_HOLE on sparse files");
	T("mkdir sk", mkdir("sk", 0755));
	fd = TFD("open sk/f O_CREAT|O_RDWR", open("sk/f", O_CREAT | O_RDWR, 0644));
	pwrite_pat("pwrite 4096 at 0", fd, 4096, 0, 8);
	pwrite_pat("pwrite 4096 at 1 MiB", fd, 4096, M, 8);
	pwrite_pat("pwrite 10 at 3 MiB + 5", fd, 10, 3 * M + 5, 8);
	{
		off_t o[] = {0, 100, 4096, 8192, M - 1, M, M + 4095, M + 4096, 2 * M, 3 * M, 3 * M + 14,
			     3 * M + 15, 3 * M + 16, 10 * M, -1};

		out("(before fsync)");
		seeks("sk/f", fd, o, 15);
		T("fsync", fsync(fd));
		out("(after fsync)");
		seeks("sk/f", fd, o, 15);
	}
	closefd(fd);
	fd = open("sk/hole", O_CREAT | O_RDWR, 0644);
	T("ftruncate sk/hole 1 MiB (all hole)", ftruncate(fd, M));
	{
		off_t o[] = {0, M - 1, M};

		seeks("sk/hole", fd, o, 3);
	}
	closefd(fd);
	fd = open("sk/empty", O_CREAT | O_RDWR, 0644);
	{
		off_t o[] = {0, 1};

		seeks("sk/empty", fd, o, 2);
	}
	closefd(fd);
	T("mkfile sk/small 'tiny'", mkfile("sk/small", "tiny"));
	fd = open("sk/small", O_RDONLY);
	{
		off_t o[] = {0, 3, 4};

		seeks("sk/small", fd, o, 3);
	}
	closefd(fd);
	fd = open("keep/sparse", O_RDONLY);
	{
		off_t o[] = {0, M, M + 5};

		seeks("keep/sparse", fd, o, 3);
	}
	closefd(fd);
}

/* ------------------------------------------------------------ ioctls */

#ifndef FS_INLINE_DATA_FL
#define FS_INLINE_DATA_FL 0x10000000
#endif
#ifndef FS_HUGE_FILE_FL
#define FS_HUGE_FILE_FL 0x00040000
#endif
#define LAYOUT_FLAGS (FS_EXTENT_FL | FS_INLINE_DATA_FL | FS_INDEX_FL | FS_HUGE_FILE_FL)

static int getflags(const char *path, const char *label)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW), fl = 0;

	if (fd < 0) {
		out("getflags %s: open -> %s", label, errname(errno));
		return -1;
	}
	if (ioctl(fd, FS_IOC_GETFLAGS, &fl) < 0) {
		out("FS_IOC_GETFLAGS %s -> %s", label, errname(errno));
		fl = -1;
	} else {
		/* How the inode maps its data is printed apart from the flags
		 * that say how it behaves. */
		unsigned lay = (unsigned)fl & LAYOUT_FLAGS;

		out("FS_IOC_GETFLAGS %s = 0x%08x", label, (unsigned)fl & ~LAYOUT_FLAGS);
		out("  layout %s:%s%s%s%s%s", label, lay & FS_EXTENT_FL ? " extents" : "",
		    lay & FS_INLINE_DATA_FL ? " inline_data" : "", lay & FS_INDEX_FL ? " htree" : "",
		    lay & FS_HUGE_FILE_FL ? " huge_file" : "", lay ? "" : " block map");
	}
	close(fd);
	return fl;
}

static long setflags(const char *path, int fl)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK), r, e;

	if (fd < 0)
		return -1;
	r = ioctl(fd, FS_IOC_SETFLAGS, &fl);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static void s_ioctl(void)
{
	struct fsxattr fx;
	int fd, fl, v;

	step("ioctl: FS_IOC_GETFLAGS, FS_IOC_FSGETXATTR, FS_IOC_GETVERSION, FIGETBSZ");
	T("mkdir fl", mkdir("fl", 0755));
	mkpat("fl/f", 10000, 9);
	T("mkfile fl/small", mkfile("fl/small", "s"));
	fl = getflags("fl/f", "fl/f");
	getflags("fl/small", "fl/small");
	getflags("fl", "fl (dir)");
	getflags("keep/seq", "keep/seq");
	fd = open("fl/f", O_RDONLY);
	memset(&fx, 0, sizeof(fx));
	if (T("FS_IOC_FSGETXATTR fl/f", ioctl(fd, FS_IOC_FSGETXATTR, &fx)) == 0)
		out("  xflags=0x%x extsize=%u nextents=%u projid=%u cowextsize=%u", fx.fsx_xflags,
		    fx.fsx_extsize, fx.fsx_nextents, fx.fsx_projid, fx.fsx_cowextsize);
	T("FS_IOC_GETVERSION fl/f (success only)", ioctl(fd, FS_IOC_GETVERSION, &v));
	v = 0;
	T("FIGETBSZ fl/f", ioctl(fd, FIGETBSZ, &v));
	out("  FIGETBSZ = %d", v);
	{
		struct stat st;

		fstat(fd, &st);
		out("st_blksize fl/f = %ld", (long)st.st_blksize);
	}
	T("unknown ioctl 0x5a5a (ENOTTY)", ioctl(fd, _IO('Z', 0x5a), 0));
	closefd(fd);
	T("FS_IOC_SETFLAGS fl/f +NODUMP", setflags("fl/f", fl | FS_NODUMP_FL));
	getflags("fl/f", "fl/f");
	T("FS_IOC_SETFLAGS fl +NOATIME (dir)", setflags("fl", getflags("fl", "fl") | FS_NOATIME_FL));
	getflags("fl", "fl");
	T("FS_IOC_SETFLAGS fl/f -NODUMP", setflags("fl/f", fl));
	getflags("fl/f", "fl/f");

	step("ioctl: immutable file");
	T("mkfile fl/imm", mkfile("fl/imm", "immutable"));
	T("link fl/imm fl/imm.link (before)", link("fl/imm", "fl/imm.link"));
	fl = getflags("fl/imm", "fl/imm");
	fd = open("fl/imm", O_RDWR);	/* opened before the flag is set */
	T("FS_IOC_SETFLAGS fl/imm +IMMUTABLE", setflags("fl/imm", fl | FS_IMMUTABLE_FL));
	getflags("fl/imm", "fl/imm");
	if (fd >= 0) {
		memset(&fx, 0, sizeof(fx));
		ioctl(fd, FS_IOC_FSGETXATTR, &fx);
		out("FS_IOC_FSGETXATTR xflags=0x%x", fx.fsx_xflags);
	}
	T("pwrite through an fd opened before (EPERM)", pwrite(fd, "X", 1, 0));
	T("open O_WRONLY (EPERM)", open("fl/imm", O_WRONLY));
	T("open O_RDWR (EPERM)", open("fl/imm", O_RDWR));
	T("open O_RDONLY|O_TRUNC (EPERM)", open("fl/imm", O_RDONLY | O_TRUNC));
	T("open O_RDONLY", ({ int f = open("fl/imm", O_RDONLY); closefd(f); f < 0 ? -1 : 0; }));
	T("unlink (EPERM)", unlink("fl/imm"));
	T("unlink the other link (EPERM)", unlink("fl/imm.link"));
	T("rename (EPERM)", rename("fl/imm", "fl/imm2"));
	T("link (EPERM)", link("fl/imm", "fl/imm3"));
	T("chmod (EPERM)", chmod("fl/imm", 0600));
	T("chown (EPERM)", chown("fl/imm", 1, 1));
	T("truncate (EPERM)", truncate("fl/imm", 0));
	T("utimensat explicit (EPERM)", do_utimens("fl/imm", 1, 0, 1, 0, 0));
	T("utimensat NULL (EPERM)", utimensat(AT_FDCWD, "fl/imm", NULL, 0));
	T("setxattr user.x (EPERM)", setxattr("fl/imm", "user.x", "1", 1, 0));
	T("fallocate (EPERM)", fallocate(fd, 0, 0, 100000));
	T("rename another file over it (EPERM)", ({ mkfile("fl/over", "o"); rename("fl/over", "fl/imm"); }));
	sum_path("fl/imm");
	T("FS_IOC_SETFLAGS fl/imm -IMMUTABLE", setflags("fl/imm", fl));
	getflags("fl/imm", "fl/imm");
	T("pwrite through the old fd", pwrite(fd, "I", 1, 0));
	closefd(fd);
	T("chmod 0600", chmod("fl/imm", 0600));
	T("rename fl/imm fl/imm2", rename("fl/imm", "fl/imm2"));
	T("unlink fl/imm.link", unlink("fl/imm.link"));
	sum_path("fl/imm2");
	/* An immutable directory. */
	T("mkdir fl/idir", mkdir("fl/idir", 0755));
	T("mkfile fl/idir/in", mkfile("fl/idir/in", "in"));
	fl = getflags("fl/idir", "fl/idir");
	T("FS_IOC_SETFLAGS fl/idir +IMMUTABLE", setflags("fl/idir", fl | FS_IMMUTABLE_FL));
	T("create in immutable dir (EPERM)", mkfile("fl/idir/new", NULL));
	T("unlink in immutable dir (EPERM)", unlink("fl/idir/in"));
	T("write to a file in it", ({ int f = open("fl/idir/in", O_WRONLY | O_APPEND); long r = write(f, "!", 1);
				      int e = errno; closefd(f); errno = e; r; }));
	T("FS_IOC_SETFLAGS fl/idir -IMMUTABLE", setflags("fl/idir", fl));
	T("unlink fl/idir/in", unlink("fl/idir/in"));

	step("ioctl: append-only file");
	T("mkfile fl/app", mkfile("fl/app", "start\n"));
	fl = getflags("fl/app", "fl/app");
	T("FS_IOC_SETFLAGS fl/app +APPEND", setflags("fl/app", fl | FS_APPEND_FL));
	getflags("fl/app", "fl/app");
	T("open O_WRONLY (EPERM)", open("fl/app", O_WRONLY));
	T("open O_RDWR (EPERM)", open("fl/app", O_RDWR));
	T("open O_WRONLY|O_TRUNC|O_APPEND (EPERM)", open("fl/app", O_WRONLY | O_TRUNC | O_APPEND));
	fd = TFD("open O_WRONLY|O_APPEND", open("fl/app", O_WRONLY | O_APPEND));
	T("write 'appended\\n'", write(fd, "appended\n", 9));
	T("fcntl F_SETFL without O_APPEND (EPERM)", fcntl(fd, F_SETFL, 0));
	T("ftruncate (EPERM)", ftruncate(fd, 0));
	closefd(fd);
	T("truncate (EPERM)", truncate("fl/app", 0));
	T("unlink (EPERM)", unlink("fl/app"));
	T("rename (EPERM)", rename("fl/app", "fl/app2"));
	T("chmod (EPERM)", chmod("fl/app", 0600));
	T("utimensat explicit (EPERM)", do_utimens("fl/app", 1, 0, 1, 0, 0));
	T("utimensat UTIME_NOW", utimensat(AT_FDCWD, "fl/app", NULL, 0));
	T("link fl/app fl/app.link (EPERM)", link("fl/app", "fl/app.link"));
	sum_path("fl/app");
	T("FS_IOC_SETFLAGS fl/app -APPEND", setflags("fl/app", fl));
	T("truncate 5", truncate("fl/app", 5));
	T("unlink fl/app.link", unlink("fl/app.link"));
	sum_path("fl/app");
}

/* ------------------------------------------------------------ copy_file_range */

static long cfr_all(int in, off_t *oi, int outfd, off_t *oo, size_t len)
{
	long total = 0;

	while (len) {
		ssize_t r = copy_file_range(in, oi, outfd, oo, len, 0);

		if (r < 0)
			return total ? total : -1;
		if (r == 0)
			break;
		total += r;
		len -= (size_t)r;
	}
	return total;
}

static void s_copy(void)
{
	int in, o;
	off_t a, b;

	step("copy_file_range");
	T("mkdir cf", mkdir("cf", 0755));
	mkpat("cf/src", 100000, 10);
	in = open("cf/src", O_RDONLY);
	o = open("cf/all", O_CREAT | O_WRONLY, 0644);
	a = 0; b = 0;
	T("copy_file_range whole file (looped)", cfr_all(in, &a, o, &b, 100000));
	out("  offsets now %lld %lld", (long long)a, (long long)b);
	closefd(o);
	sum_path("cf/src");
	sum_path("cf/all");
	o = open("cf/part", O_CREAT | O_RDWR, 0644);
	a = 1000; b = 7000;
	T("copy_file_range src[1000,+4000) -> dst at 7000", cfr_all(in, &a, o, &b, 4000));
	showfd("cf/part", o);
	check_zero("cf/part", o, 0, 7000);
	sum_fd("cf/part", o);
	a = 99990; b = 0;
	T("copy_file_range 100 bytes from 10 before EOF -> dst at 0", copy_file_range(in, &a, o, &b, 100, 0));
	a = 200000; b = 0;
	T("copy_file_range from past EOF", copy_file_range(in, &a, o, &b, 100, 0));
	a = 50000; b = 1 << 20;
	T("copy_file_range to 1 MiB (extends dst)", cfr_all(in, &a, o, &b, 30000));
	showfd("cf/part", o);
	sum_fd("cf/part", o);
	closefd(o);
	o = open("cf/src", O_RDWR);
	a = 0; b = 100;
	T("copy_file_range overlapping in the same file (EINVAL)", copy_file_range(o, &a, o, &b, 1000, 0));
	a = 0; b = 50000;
	T("copy_file_range non-overlapping in the same file", cfr_all(o, &a, o, &b, 1000));
	sum_fd("cf/src", o);
	closefd(o);
	o = open("cf/app", O_CREAT | O_WRONLY | O_APPEND, 0644);
	a = 0;
	T("copy_file_range to an O_APPEND fd (EBADF)", copy_file_range(in, &a, o, NULL, 10, 0));
	closefd(o);
	o = open("cf/all", O_RDONLY);
	a = 0; b = 0;
	T("copy_file_range to an O_RDONLY fd (EBADF)", copy_file_range(in, &a, o, &b, 10, 0));
	closefd(o);
	o = open("cf", O_RDONLY);
	a = 0; b = 0;
	T("copy_file_range from a directory (EISDIR)", copy_file_range(o, &a, in, &b, 10, 0));
	closefd(o);
	o = open("cf/all", O_WRONLY);
	a = 0; b = 0;
	T("copy_file_range flags 1 (EINVAL)", copy_file_range(in, &a, o, &b, 10, 1));
	closefd(o);
	closefd(in);
	T("copy keep/seq to keep/seq.copy", ({ int i = open("keep/seq", O_RDONLY);
					       int w = open("keep/seq.copy", O_CREAT | O_WRONLY, 0644);
					       off_t x = 0, y = 0; long r = cfr_all(i, &x, w, &y, 1 << 20);
					       closefd(i); closefd(w); r; }));
	sum_path("keep/seq.copy");
}

/* ------------------------------------------------------------ permissions */

static void s_perm(void)
{
	pid_t pid;

	step("permissions as non-root: setup (as root)");
	T("mkdir pm", mkdir("pm", 0755));
	T("mkfile pm/secret 0600", mkfile("pm/secret", "secret"));
	T("chmod pm/secret 0600", chmod("pm/secret", 0600));
	T("mkfile pm/open 0644", mkfile("pm/open", "readable"));
	T("mkfile pm/other (65534, 0644)", mkfile("pm/other", "nobody's"));
	T("chown pm/other 65534:65534", chown("pm/other", NOBODY, NOBODY));
	T("mkfile pm/mine (1234, 0644)", mkfile("pm/mine", "mine"));
	T("chown pm/mine 1234:1234", chown("pm/mine", ACL_UID, ACL_UID));
	T("mkfile pm/suid 04777", mkfile("pm/suid", "suid"));
	T("chmod pm/suid 06777", chmod("pm/suid", 06777));
	T("mkdir pm/priv 0700", mkdir("pm/priv", 0700));
	T("mkfile pm/priv/x", mkfile("pm/priv/x", "x"));
	T("mkdir pm/tmp 01777", mkdir("pm/tmp", 0777));
	T("chmod pm/tmp 01777", chmod("pm/tmp", 01777));
	T("mkfile pm/tmp/theirs", mkfile("pm/tmp/theirs", "theirs"));
	T("chown pm/tmp/theirs 65534:65534", chown("pm/tmp/theirs", NOBODY, NOBODY));
	T("chmod pm/tmp/theirs 0666", chmod("pm/tmp/theirs", 0666));
	T("mkfile pm/tmp/mine", mkfile("pm/tmp/mine", "mine"));
	T("chown pm/tmp/mine 1234:1234", chown("pm/tmp/mine", ACL_UID, ACL_UID));
	T("mkdir pm/shared 0777", mkdir("pm/shared", 0777));
	T("chmod pm/shared 0777", chmod("pm/shared", 0777));
	T("mkfile pm/shared/f 0666 (root)", mkfile("pm/shared/f", "f"));
	T("chmod pm/shared/f 0666", chmod("pm/shared/f", 0666));

	step("permissions as uid 1234 (the ACL user)");
	pid = fork_as(ACL_UID, ACL_UID);
	if (pid == 0) {
		struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
		int f;

		out("uid=%u gid=%u", getuid(), getgid());
		T("open pm/secret O_RDONLY (EACCES)", open("pm/secret", O_RDONLY));
		T("access pm/secret R_OK (EACCES)", access("pm/secret", R_OK));
		f = TFD("open pm/open O_RDONLY", open("pm/open", O_RDONLY));
		closefd(f);
		T("open pm/open O_WRONLY (EACCES)", open("pm/open", O_WRONLY));
		T("create pm/new in a 0755 root dir (EACCES)", open("pm/new", O_CREAT | O_WRONLY, 0644));
		T("mkdir pm/newd (EACCES)", mkdir("pm/newd", 0755));
		T("mknod pm/fifo (EACCES)", mknod("pm/fifo", S_IFIFO | 0644, 0));
		T("symlink pm/sl (EACCES)", symlink("x", "pm/sl"));
		T("unlink pm/open (EACCES)", unlink("pm/open"));
		T("rename pm/mine pm/mine2 (EACCES)", rename("pm/mine", "pm/mine2"));
		T("chmod pm/other, not the owner (EPERM)", chmod("pm/other", 0666));
		T("chown pm/other (EPERM)", chown("pm/other", ACL_UID, ACL_UID));
		T("chown pm/mine to 65534, own file (EPERM)", chown("pm/mine", NOBODY, -1));
		T("chown pm/mine group 65534, not a member (EPERM)", chown("pm/mine", -1, NOBODY));
		T("chown pm/mine 1234:1234, no change", chown("pm/mine", ACL_UID, ACL_UID));
		T("chmod pm/mine 02755 (own group)", chmod("pm/mine", 02755));
		T("utimensat pm/open UTIME_NOW, no write access (EACCES)", utimensat(AT_FDCWD, "pm/open", ts, 0));
		T("utimensat pm/open explicit, not the owner (EPERM)", do_utimens("pm/open", 1, 0, 1, 0, 0));
		T("utimensat pm/mine explicit, owner", do_utimens("pm/mine", 1000, 0, 2000, 0, 0));
		T("setxattr pm/open user.x, no write access (EACCES)", setxattr("pm/open", "user.x", "1", 1, 0));
		T("setxattr pm/mine trusted.x (EPERM)", setxattr("pm/mine", "trusted.x", "1", 1, 0));
		T("setxattr pm/mine user.x, owner", setxattr("pm/mine", "user.x", "1", 1, 0));
		T("stat pm/priv/x, no search permission (EACCES)", access("pm/priv/x", F_OK));
		T("opendir pm/priv (EACCES)", open("pm/priv", O_RDONLY | O_DIRECTORY));
		f = TFD("open acl/f O_RDWR, granted by the ACL", open("acl/f", O_RDWR));
		T("write through the ACL", write(f, "ACL", 3));
		closefd(f);
		T("access acl/f R_OK|W_OK (ACL)", access("acl/f", R_OK | W_OK));
		T("access acl/f X_OK (EACCES)", access("acl/f", X_OK));
		f = TFD("open acl/d/file O_RDWR (inherited ACL)", open("acl/d/file", O_RDWR));
		closefd(f);
		f = TFD("create acl/d/by1234 (dir's default ACL grants rwx)", open("acl/d/sub/by1234", O_CREAT | O_WRONLY, 0640));
		closefd(f);
		T("chmod acl/f, not the owner (EPERM)", chmod("acl/f", 0777));
		T("setxattr acl/f system.posix_acl_access, not the owner (EPERM)",
		  setxattr("acl/f", "system.posix_acl_access", "\2\0\0\0", 4, 0));
		T("unlink pm/tmp/theirs in a sticky dir (EPERM)", unlink("pm/tmp/theirs"));
		T("rename pm/tmp/theirs in a sticky dir (EPERM)", rename("pm/tmp/theirs", "pm/tmp/moved"));
		T("rename pm/tmp/mine over pm/tmp/theirs (EPERM)", rename("pm/tmp/mine", "pm/tmp/theirs"));
		f = TFD("open pm/tmp/theirs O_RDWR (0666)", open("pm/tmp/theirs", O_RDWR));
		closefd(f);
		T("unlink pm/tmp/mine (own file in a sticky dir)", unlink("pm/tmp/mine"));
		f = TFD("create pm/tmp/child", open("pm/tmp/child", O_CREAT | O_WRONLY, 0640));
		closefd(f);
		show("pm/tmp/child");
		T("mkdir pm/tmp/cdir", mkdir("pm/tmp/cdir", 0777));
		show("pm/tmp/cdir");
		T("unlink pm/shared/f, root's file in a non-sticky 0777 dir", unlink("pm/shared/f"));
		f = TFD("open pm/suid O_WRONLY (0777, root's)", open("pm/suid", O_WRONLY));
		T("write to it (clears suid, sgid)", write(f, "written", 7));
		closefd(f);
		{
			int fl = FS_IMMUTABLE_FL;

			f = open("pm/tmp/child", O_RDONLY);
			T("FS_IOC_SETFLAGS +IMMUTABLE on own file (EPERM)", ioctl(f, FS_IOC_SETFLAGS, &fl));
			closefd(f);
		}
		child_done();
	}
	wait_child(pid);
	show("pm/suid");
	show("pm/mine");
	show_times("pm/mine", 3);
	show("acl/d/sub/by1234");
	show_acl("acl/d/sub/by1234", "system.posix_acl_access");
	sum_path("acl/f");

	step("permissions as uid 65534");
	pid = fork_as(NOBODY, NOBODY);
	if (pid == 0) {
		int f;

		T("open acl/f O_RDONLY (ACL other::---, EACCES)", open("acl/f", O_RDONLY));
		T("access acl/f R_OK (EACCES)", access("acl/f", R_OK));
		f = TFD("open pm/open O_RDONLY", open("pm/open", O_RDONLY));
		closefd(f);
		T("unlink pm/tmp/theirs (owner, sticky dir)", unlink("pm/tmp/theirs"));
		T("unlink pm/tmp/child (EPERM)", unlink("pm/tmp/child"));
		T("chmod pm/other 0600 (owner)", chmod("pm/other", 0600));
		T("chown pm/other -1:65534 (owner, own group)", chown("pm/other", -1, NOBODY));
		T("create acl/d/sub/nope (EACCES)", open("acl/d/sub/nope", O_CREAT | O_WRONLY, 0644));
		child_done();
	}
	wait_child(pid);
	show("pm/other");
	list_dir("pm/tmp");
}

/* ------------------------------------------------------------ final tree walk */

static void walk(const char *path, int depth)
{
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct stat st;

	if (lstat(path, &st) < 0) {
		out("%s -> %s", path, errname(errno));
		return;
	}
	print_stat(path, &st);
	if (S_ISREG(st.st_mode) && st.st_size < (64 << 20)) {
		sum_path(path);
	} else if (S_ISLNK(st.st_mode)) {
		char t[4200];
		ssize_t r = readlink(path, t, sizeof(t));

		out("  -> %zd bytes fnv %016" PRIx64, r, r > 0 ? fnv(t, (size_t)r, FNV0) : 0);
	}
	{
		char names[8192];
		ssize_t r = llistxattr(path, names, sizeof(names));

		if (r > 0)
			list_xattrs(path);
	}
	if (!S_ISDIR(st.st_mode) || depth > 8)
		return;
	d = opendir(path);
	if (!d) {
		out("opendir %s -> %s", path, errname(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			v = realloc(v, cap * sizeof(*v));
		}
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), strpcmp);
	if (n > 200) {
		uint64_t h = FNV0;

		for (size_t i = 0; i < n; i++)
			h = fnv(v[i], strlen(v[i]) + 1, h);
		out("%s: %zu entries (not walked), names fnv %016" PRIx64, path, n, h);
	} else {
		for (size_t i = 0; i < n; i++) {
			char p[PATH_MAX];

			snprintf(p, sizeof(p), "%s/%s", path, v[i]);
			walk(p, depth + 1);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void s_walk(void)
{
	step("final tree");
	walk(".", 0);
}

/* More steps, in a file of their own (it uses the helpers above). */
#include "steps_dirs.c"

int main(int argc, char **argv)
{
	int walk_only = 0;

	if (argc == 2 && !strcmp(argv[1], "--ids"))
		return print_ids();
	if (argc == 4 && !strcmp(argv[1], "--only")) {
		if (chdir(argv[3]) < 0) {
			perror(argv[3]);
			return 2;
		}
		umask(022);
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
		s_setup();
		return steps_dirs_only(argv[2]) ? 2 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--walk")) {
		walk_only = 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--walk | --only atime] DIR\n", argv[0]);
		return 2;
	}
	if (chdir(argv[1]) < 0) {
		perror(argv[1]);
		return 2;
	}
	umask(022);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (walk_only) {
		s_walk();
		return 0;
	}
	printf("fuse2fs-ng conformance workload\n");
	s_setup();
	s_statvfs();
	s_lookup();
	s_names();
	s_chmod();
	s_chown();
	s_truncate();
	s_utimens();
	s_mknod();
	s_dirs();
	s_symlinks();
	s_rename();
	s_link();
	s_open();
	s_rw();
	s_big();
	s_unlink_open();
	s_bigdir();
	s_dir_mutate();
	s_xattr();
	s_acl();
	s_fallocate();
	s_seek();
	s_ioctl();
	s_copy();
	s_perm();
	steps_dirs();
	s_file_handles();
	s_tmpfile();
	s_whiteout();
	s_acl_kill_sgid();
	s_fiemap();
	s_walk();
	printf("\nend of workload\n");
	return 0;
}
