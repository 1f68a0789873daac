/*
 * steps_dirs.c: conformance steps for append-only directories, directory
 * churn on open descriptors, atime rules, dev/suid mounts and nanosecond
 * timestamps of new inodes (issue 9; fstests generic/079, 637, 120, 003,
 * 184, 434, 423).
 *
 * Not a translation unit of its own: workload.c includes it after its
 * helpers (step, T, out, show, setflags, fork_as, ...), so these steps use
 * them as they are without a shared header.
 *
 * Also: `workload --only atime DIR` runs only the atime steps (for the
 * atime-options case, once per mount option), and `workload --ids` prints
 * the effective ids (a setuid copy of the workload runs it).
 */

/* ------------------------------------------------------------ append-only directories */

/*
 * The inode flags of PATH, without the layout ones (inline data, extents,
 * htree: how the implementation stores it, not how it behaves).
 */
static int behaviour_flags(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK), fl = -1;

	if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &fl) < 0)
		fl = -1;
	closefd(fd);
	return fl < 0 ? fl : fl & ~LAYOUT_FLAGS;
}

/* Set or clear flag bits on PATH, starting from its flags as they are now. */
static long change_flags(const char *path, int set, int clear)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK), fl, r, e;

	if (fd < 0)
		return -1;
	r = ioctl(fd, FS_IOC_GETFLAGS, &fl);
	if (r == 0) {
		fl = (fl | set) & ~clear;
		r = ioctl(fd, FS_IOC_SETFLAGS, &fl);
	}
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static void s_appdir(void)
{
	pid_t pid;
	int fd;

	step("append-only directory: new names allowed, none removed or renamed away");
	T("mkdir ad", mkdir("ad", 0777));
	T("chmod ad 0777", chmod("ad", 0777));
	T("mkdir ad-other", mkdir("ad-other", 0777));
	T("mkfile ad/old", mkfile("ad/old", "old"));
	T("mkdir ad/sub", mkdir("ad/sub", 0755));
	T("mkfile ad-other/f", mkfile("ad-other/f", "f"));
	T("mkfile ad-other/g", mkfile("ad-other/g", "g"));
	T("mkfile ad-other/h", mkfile("ad-other/h", "h"));
	T("FS_IOC_SETFLAGS ad +APPEND", change_flags("ad", FS_APPEND_FL, 0));
	out("flags of ad: 0x%08x", behaviour_flags("ad"));
	T("create ad/new", mkfile("ad/new", "new"));
	T("link ad-other/f ad/hl", link("ad-other/f", "ad/hl"));
	T("symlink ad/sl", symlink("target", "ad/sl"));
	T("mknod ad/fifo", mknod("ad/fifo", S_IFIFO | 0644, 0));
	T("mkdir ad/sub2", mkdir("ad/sub2", 0755));
	T("rename ad-other/g ad/moved (into)", rename("ad-other/g", "ad/moved"));
	T("rename ad/old ad/old2 (within: EPERM)", rename("ad/old", "ad/old2"));
	T("rename ad/old ad-other/x (out of: EPERM)", rename("ad/old", "ad-other/x"));
	T("rename ad-other/h ad/old (over an entry: EPERM)", rename("ad-other/h", "ad/old"));
	T("renameat2 ad/old ad-other/h EXCHANGE (EPERM)",
	  syscall(SYS_renameat2, AT_FDCWD, "ad/old", AT_FDCWD, "ad-other/h", RENAME_EXCHANGE));
	T("rename ad/sub ad/sub3 (a directory, within: EPERM)", rename("ad/sub", "ad/sub3"));
	T("unlink ad/old (EPERM)", unlink("ad/old"));
	T("unlink ad/new (EPERM, just created)", unlink("ad/new"));
	T("rmdir ad/sub (EPERM)", rmdir("ad/sub"));
	T("link ad/old ad-other/old.link (a name elsewhere)", link("ad/old", "ad-other/old.link"));
	T("unlink ad-other/old.link", unlink("ad-other/old.link"));
	T("write to ad/old (the file is not append-only)",
	  ({ int f = open("ad/old", O_WRONLY | O_TRUNC); long r = f < 0 ? -1 : write(f, "OLD", 3);
	     int e = errno; closefd(f); errno = e; r; }));
	sum_path("ad/old");
	out("flags of ad/new: 0x%08x, of ad/sub2: 0x%08x (not inherited)",
	    behaviour_flags("ad/new"), behaviour_flags("ad/sub2"));
	T("mkfile ad/sub/in (inside a subdirectory)", mkfile("ad/sub/in", "in"));
	T("unlink ad/sub/in", unlink("ad/sub/in"));
	T("chmod ad (EPERM)", chmod("ad", 0755));
	T("utimensat ad explicit (EPERM)", do_utimens("ad", 1, 0, 1, 0, 0));
	T("utimensat ad NULL", utimensat(AT_FDCWD, "ad", NULL, 0));
	T("setxattr ad user.x (EPERM)", setxattr("ad", "user.x", "1", 1, 0));
	fd = open("ad", O_RDONLY | O_DIRECTORY);
	T("open ad O_RDONLY", fd < 0 ? -1 : 0);
	closefd(fd);
	pid = fork_as(ACL_UID, ACL_UID);
	if (pid == 0) {
		out("as uid %d in the world-writable append-only ad:", ACL_UID);
		T("  create ad/theirs", mkfile("ad/theirs", "theirs"));
		T("  unlink ad/theirs (EPERM)", unlink("ad/theirs"));
		T("  rename ad/theirs ad/theirs2 (EPERM)", rename("ad/theirs", "ad/theirs2"));
		T("  mkdir ad/theirdir", mkdir("ad/theirdir", 0755));
		T("  rmdir ad/theirdir (EPERM)", rmdir("ad/theirdir"));
		T("  symlink ad/theirlink", symlink("x", "ad/theirlink"));
		child_done();
	}
	wait_child(pid);
	list_dir("ad");
	T("FS_IOC_SETFLAGS ad -APPEND", change_flags("ad", 0, FS_APPEND_FL));
	T("unlink ad/new", unlink("ad/new"));
	T("rename ad/old ad/old2", rename("ad/old", "ad/old2"));
	list_dir("ad");
}

/* ------------------------------------------------------------ directory churn */

/* Names (not dots) read from an open directory by getdents, at most max_calls calls. */
static int count_entries(int fd, int max_calls)
{
	char buf[512];
	long got;
	int n = 0;

	while (max_calls-- != 0 && (got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long pos = 0; pos < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + pos);
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				n++;
			pos += de->d_reclen;
		}
	}
	return n;
}

static void s_dir_churn(void)
{
	char path[64];
	int round, i, fd1, fd2, left_new = 0, left_rewind = 0, held = -1;
	struct stat st;

	step("directory churn on open descriptors (generic/637)");
	T("mkdir ch", mkdir("ch", 0755));
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 30; i++) {
			snprintf(path, sizeof(path), "ch/entry-with-a-long-name-%02d", i);
			fd1 = open(path, O_CREAT | O_WRONLY, 0644);
			if (i == 7 && round == 19)
				held = fd1;	/* open while unlinked */
			else
				closefd(fd1);
		}
		fd1 = open("ch", O_RDONLY | O_DIRECTORY);
		count_entries(fd1, 1);	/* the first entries: a snapshot is taken */
		for (i = 0; i < 30; i++) {
			snprintf(path, sizeof(path), "ch/entry-with-a-long-name-%02d", i);
			if (i % 3 == 0)
				rename(path, "ch/../ch-moved");
			else
				unlink(path);
		}
		count_entries(fd1, -1);	/* the rest: removed names may or may not show */
		fd2 = open("ch", O_RDONLY | O_DIRECTORY);
		left_new += count_entries(fd2, -1);
		lseek(fd1, 0, SEEK_SET);
		left_rewind += count_entries(fd1, -1);
		closefd(fd1);
		closefd(fd2);
	}
	out("names left on new descriptors: %d, after rewinddir: %d", left_new, left_rewind);
	if (held >= 0 && fstat(held, &st) == 0)
		out("open unlinked file: nlink=%lu size=%lld", (unsigned long)st.st_nlink,
		    (long long)st.st_size);
	closefd(held);
	list_dir("ch");
	T("rmdir ch", rmdir("ch"));
	T("unlink ch-moved", unlink("ch-moved"));
	T("mkdir ch (again: the filesystem is still writable)", mkdir("ch", 0755));
}

/* ------------------------------------------------------------ atime */

static void atime_since(const char *what, const char *path, const struct snap *s)
{
	struct stat st;

	if (qstat(path, &st) < 0) {
		out("%s: stat %s -> %s", what, path, errname(errno));
		return;
	}
	out("%s: atime %s", what, rel(st.st_atim, s->st.st_atim));
}

static void read_all(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		out("open %s -> %s", path, errname(errno));
		return;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static void read_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0) {
		out("open %s -> %s", path, errname(errno));
		return;
	}
	count_entries(fd, -1);
	close(fd);
}

/* The mount's flags as statvfs reports them. */
static void show_mount_flags(void)
{
	struct statvfs v;

	if (statvfs(".", &v) < 0) {
		out("statvfs . -> %s", errname(errno));
		return;
	}
	out("mount flags:%s%s%s%s%s%s%s", v.f_flag & ST_RDONLY ? " ro" : " rw",
	    v.f_flag & ST_NOSUID ? " nosuid" : "", v.f_flag & ST_NODEV ? " nodev" : "",
	    v.f_flag & ST_NOEXEC ? " noexec" : "", v.f_flag & ST_NOATIME ? " noatime" : "",
	    v.f_flag & ST_NODIRATIME ? " nodiratime" : "", v.f_flag & ST_RELATIME ? " relatime" : "");
}

static void s_atime(void)
{
	struct snap s;
	pid_t pid;
	int fd;

	step("atime: reads under the mount's atime rules (relatime by default)");
	show_mount_flags();
	T("mkdir at", mkdir("at", 0755));
	T("mkfile at/f", mkfile("at/f", "some data\n"));
	T("utimensat at/f atime 1500000000 mtime 1500000100 (atime before mtime)",
	  do_utimens("at/f", 1500000000, 0, 1500000100, 0, 0));
	take(&s, "at/f");
	tick();
	read_all("at/f");
	atime_since("first read", "at/f", &s);
	take(&s, "at/f");
	tick();
	read_all("at/f");
	atime_since("second read (atime after mtime and ctime)", "at/f", &s);
	tick();
	fd = open("at/f", O_WRONLY | O_APPEND);
	T("append to at/f", write(fd, "more\n", 5));
	closefd(fd);
	take(&s, "at/f");
	tick();
	read_all("at/f");
	atime_since("read after a write (mtime after atime)", "at/f", &s);
	take(&s, "at/f");
	tick();
	T("chmod at/f 0640 (ctime moves)", chmod("at/f", 0640));
	tick();
	read_all("at/f");
	atime_since("read after a chmod (ctime after atime)", "at/f", &s);
	take(&s, "at/f");
	tick();
	T("utimensat at/f atime 2000000000 (in the future) mtime UTIME_OMIT",
	  utimensat(AT_FDCWD, "at/f", (struct timespec[2]){{2000000000, 0}, {0, UTIME_OMIT}}, 0));
	take(&s, "at/f");
	tick();
	read_all("at/f");
	atime_since("read, atime in the future but ctime now", "at/f", &s);
	take(&s, "at/f");
	tick();
	T("zero-length read of at/f", ({ char c; int f = open("at/f", O_RDONLY);
		long r = f < 0 ? -1 : read(f, &c, 0); int e = errno; closefd(f); errno = e; r; }));
	atime_since("zero-length read", "at/f", &s);

	/* A non-owner's read moves atime just the same. */
	T("mkfile at/g", mkfile("at/g", "g data\n"));
	T("chown at/g 65534:65534", chown("at/g", NOBODY, NOBODY));
	take(&s, "at/g");
	tick();
	pid = fork_as(ACL_UID, ACL_UID);
	if (pid == 0) {
		read_all("at/g");
		child_done();
	}
	wait_child(pid);
	atime_since("read by uid 1234 (not the owner)", "at/g", &s);

	/* The per-inode NOATIME flag (chattr +A). */
	T("mkfile at/noa", mkfile("at/noa", "n"));
	T("FS_IOC_SETFLAGS at/noa +NOATIME", change_flags("at/noa", FS_NOATIME_FL, 0));
	take(&s, "at/noa");
	tick();
	read_all("at/noa");
	atime_since("read of a +NOATIME file", "at/noa", &s);

	/* Directories: listing reads them. */
	T("mkdir at/d", mkdir("at/d", 0755));
	T("mkfile at/d/x", mkfile("at/d/x", NULL));
	take(&s, "at/d");
	tick();
	read_dir("at/d");
	atime_since("first listing of at/d", "at/d", &s);
	take(&s, "at/d");
	tick();
	read_dir("at/d");
	atime_since("second listing of at/d", "at/d", &s);
	take(&s, "at/d");
	tick();
	T("lstat at/d/x (a lookup does not read the directory)", ({ struct stat x; lstat("at/d/x", &x); }));
	atime_since("lookup in at/d", "at/d", &s);

	/* Writing alone never moves atime. */
	take(&s, "at/f");
	tick();
	fd = open("at/f", O_WRONLY | O_APPEND);
	T("append to at/f again", write(fd, "x", 1));
	closefd(fd);
	atime_since("write only", "at/f", &s);
}

/* ------------------------------------------------------------ dev and suid */

static void s_devsuid(void)
{
	char buf[1 << 16];
	int in, outfd, fd;
	ssize_t n;
	pid_t pid;

	step("dev and suid: a root mount that allows them (ext4's defaults)");
	show_mount_flags();
	T("mkdir ds", mkdir("ds", 0755));
	T("mknod ds/null c 1:3 0666", mknod("ds/null", S_IFCHR | 0666, makedev(1, 3)));
	T("chmod ds/null 0666", chmod("ds/null", 0666));
	fd = TFD("open ds/null O_WRONLY (the device itself)", open("ds/null", O_WRONLY));
	if (fd >= 0)
		T("write 5 bytes to ds/null", write(fd, "hello", 5));
	closefd(fd);
	/* A setuid-root copy of this program, run by another user. */
	in = open("/proc/self/exe", O_RDONLY);
	outfd = open("ds/ids", O_CREAT | O_WRONLY | O_TRUNC, 0755);
	while (in >= 0 && outfd >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(outfd, buf, (size_t)n) != n)
			break;
	T("copy of the workload to ds/ids", in >= 0 && outfd >= 0 ? 0 : -1);
	closefd(in);
	closefd(outfd);
	T("chown ds/ids 0:0", chown("ds/ids", 0, 0));
	T("chmod ds/ids 04755", chmod("ds/ids", 04755));
	T("mkfile ds/sgid", mkfile("ds/sgid", NULL));
	pid = fork_as(ACL_UID, ACL_UID);
	if (pid == 0) {
		out("uid %d runs the setuid-root ds/ids:", ACL_UID);
		fflush(stdout);
		execl("ds/ids", "ds/ids", "--ids", (char *)NULL);
		out("exec ds/ids -> %s", errname(errno));
		child_done();
	}
	wait_child(pid);
	T("unlink ds/ids", unlink("ds/ids"));
}

/* `workload --ids`: run from the setuid copy. */
static int print_ids(void)
{
	printf("  euid=%u (uid=%u) egid=%u\n", (unsigned)geteuid(), (unsigned)getuid(),
	       (unsigned)getegid());
	return 0;
}

/* ------------------------------------------------------------ nanoseconds of new inodes */

static void show_new_times(const char *path)
{
	struct statx sx;
	struct timespec a, m, c, b;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) < 0) {
		out("statx %s -> %s", path, errname(errno));
		return;
	}
	a = (struct timespec){ sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec };
	m = (struct timespec){ sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec };
	c = (struct timespec){ sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec };
	b = (struct timespec){ sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec };
	out("%s: atime == mtime == ctime: %s; btime %s", path,
	    !tscmp(a, m) && !tscmp(m, c) ? "yes" : "no",
	    !(sx.stx_mask & STATX_BTIME) ? "not reported" : !tscmp(b, c) ? "== ctime" :
	    tscmp(b, c) < 0 ? "before ctime" : "AFTER ctime");
	if (fine_ts)	/* a whole-second value here means the nanoseconds were lost */
		out("%s: nanoseconds kept: atime %s mtime %s ctime %s btime %s", path,
		    a.tv_nsec ? "yes" : "no", m.tv_nsec ? "yes" : "no", c.tv_nsec ? "yes" : "no",
		    !(sx.stx_mask & STATX_BTIME) ? "-" : b.tv_nsec ? "yes" : "no");
}

static void s_new_times(void)
{
	step("timestamps of new inodes: nanoseconds, birth time (generic/423)");
	T("mkdir nt", mkdir("nt", 0755));
	T("mknod nt/fifo", mknod("nt/fifo", S_IFIFO | 0644, 0));
	T("mknod nt/chr 1:3", mknod("nt/chr", S_IFCHR | 0644, makedev(1, 3)));
	T("mknod nt/blk 7:0", mknod("nt/blk", S_IFBLK | 0644, makedev(7, 0)));
	T("mknod nt/sock", mknod("nt/sock", S_IFSOCK | 0644, 0));
	T("open nt/reg O_CREAT", ({ int f = open("nt/reg", O_CREAT | O_WRONLY, 0644); closefd(f); f < 0 ? -1 : 0; }));
	T("mknod nt/reg2 S_IFREG", mknod("nt/reg2", S_IFREG | 0644, 0));
	T("mkdir nt/dir", mkdir("nt/dir", 0755));
	T("symlink nt/sl", symlink("target", "nt/sl"));
	show_new_times("nt/fifo");
	show_new_times("nt/chr");
	show_new_times("nt/blk");
	show_new_times("nt/sock");
	show_new_times("nt/reg");
	show_new_times("nt/reg2");
	show_new_times("nt/dir");
	show_new_times("nt/sl");
}

/* ------------------------------------------------------------ entry points */

static void steps_dirs(void)
{
	s_appdir();
	s_dir_churn();
	s_atime();
	s_devsuid();
	s_new_times();
}

/* `workload --only NAME DIR`: 0 if NAME is a step group of this file. */
static int steps_dirs_only(const char *name)
{
	if (!strcmp(name, "atime")) {
		s_atime();
		return 0;
	}
	return -1;
}
