/*
 * steps_fuse_ext.c: workload steps for what reaches a FUSE daemon only
 * through protocol extensions libfuse 3.14 lacks or we negotiate ourselves
 * (lib/fuse/wire.c): file handles (FUSE_EXPORT_SUPPORT), O_TMPFILE
 * (FUSE_TMPFILE), RENAME_WHITEOUT (FUSE_RENAME2 flags) and the SGID bit an
 * access ACL clears (FUSE_SETXATTR_ACL_KILL_SGID); and FIEMAP, which the
 * kernel's FUSE layer answers itself outside iomap mode (a documented
 * known difference).  Same transcript rules
 * as workload.c: no inode numbers, handle bytes or times are printed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/ioctl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>

#include "workload.h"

static long rename2(const char *from, const char *to, unsigned int flags)
{
	return syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

/* Make the kernel forget dentries and inodes: a handle must then be decoded
   by the filesystem (a FUSE LOOKUP of "." in the node). */
static void drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "2", 1) != 1)
		out("drop_caches -> %s", errname(errno));
	closefd(fd);
}

struct handle {
	struct file_handle h;
	unsigned char space[MAX_HANDLE_SZ];
};

static int get_handle(const char *path, struct handle *fh)
{
	int mount_id;

	memset(fh, 0, sizeof(*fh));
	fh->h.handle_bytes = MAX_HANDLE_SZ;
	return name_to_handle_at(AT_FDCWD, path, &fh->h, &mount_id, 0);
}

/* Does FD (opened by handle) hold the inode PATH names? */
static void fd_is(int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) || lstat(path, &b))
		out("  same inode as %s: stat failed %s", path, errname(errno));
	else
		out("  same inode as %s: %s", path, a.st_ino == b.st_ino ? "yes" : "no");
}

/* Add (or remove) a dozen names with long names in DIR. */
static void fill_dir(const char *dir, int add)
{
	for (int i = 0; i < 12; i++) {
		char name[128];

		snprintf(name, sizeof(name), "%s/filler-with-a-long-name-%02d", dir, i);
		if (add ? mkfile(name, NULL) : unlink(name))
			out("%s %s -> %s", add ? "mkfile" : "unlink", name, errname(errno));
	}
}

void s_file_handles(void)
{
	struct handle f, d, inner, root, nope;
	int mfd, fd;
	pid_t pid;

	step("file handles: open_by_handle_at after the kernel dropped the inode");
	T("mkdir fh", mkdir("fh", 0755));
	T("mkdir fh/d", mkdir("fh/d", 0755));
	T("mkfile fh/f", mkfile("fh/f", "handle data\n"));
	T("mkfile fh/d/inner", mkfile("fh/d/inner", "inner\n"));
	/*
	 * Neither fh nor fh/d an inline directory: kernel ext4 (6.18) cannot
	 * find the parent of an inline directory when it decodes a handle
	 * (ESTALE), which is not what this step is about.
	 */
	fill_dir("fh", 1);
	fill_dir("fh/d", 1);
	mfd = open(".", O_RDONLY | O_DIRECTORY);
	T("name_to_handle_at fh/f", get_handle("fh/f", &f));
	T("name_to_handle_at fh/d", get_handle("fh/d", &d));
	T("name_to_handle_at fh/d/inner", get_handle("fh/d/inner", &inner));
	T("name_to_handle_at . (the root)", get_handle(".", &root));
	fd = TFD("open_by_handle_at fh/f (inode cached)", open_by_handle_at(mfd, &f.h, O_RDONLY));
	if (fd >= 0) {
		sum_fd("fh/f by handle", fd);
		closefd(fd);
	}
	drop_caches();
	fd = TFD("open_by_handle_at fh/f after drop_caches", open_by_handle_at(mfd, &f.h, O_RDONLY));
	if (fd >= 0) {
		fd_is(fd, "fh/f");
		sum_fd("fh/f by handle", fd);
		closefd(fd);
	}
	drop_caches();
	/* A directory is always reconnected to the tree: LOOKUP "..". */
	fd = TFD("open_by_handle_at fh/d after drop_caches", open_by_handle_at(mfd, &d.h,
									      O_RDONLY | O_DIRECTORY));
	if (fd >= 0) {
		struct stat st;
		int up;

		fd_is(fd, "fh/d");
		T("fstatat (dir by handle) inner", fstatat(fd, "inner", &st, 0));
		up = TFD("openat (dir by handle) ..", openat(fd, "..", O_RDONLY | O_DIRECTORY));
		if (up >= 0)
			fd_is(up, "fh");
		closefd(up);
		closefd(fd);
	}
	drop_caches();
	fd = TFD("open_by_handle_at . (root) after drop_caches", open_by_handle_at(mfd, &root.h,
										   O_RDONLY | O_DIRECTORY));
	if (fd >= 0)
		fd_is(fd, ".");
	closefd(fd);
	T("rename fh/d/inner fh/moved", rename("fh/d/inner", "fh/moved"));
	drop_caches();
	fd = TFD("open_by_handle_at fh/d/inner after a rename", open_by_handle_at(mfd, &inner.h,
										  O_RDONLY));
	if (fd >= 0) {
		fd_is(fd, "fh/moved");
		sum_fd("fh/moved by handle", fd);
	}
	closefd(fd);
	T("link fh/moved fh/second", link("fh/moved", "fh/second"));
	T("unlink fh/moved", unlink("fh/moved"));
	drop_caches();
	fd = TFD("open_by_handle_at of a file that lost one of two names",
		 open_by_handle_at(mfd, &inner.h, O_RDONLY));
	closefd(fd);

	T("unlink fh/f", unlink("fh/f"));
	drop_caches();
	fd = TFD("open_by_handle_at fh/f after unlink (ESTALE)", open_by_handle_at(mfd, &f.h, O_RDONLY));
	closefd(fd);
	/* Often the same inode number again: the generation tells them apart. */
	T("mkfile fh/new (may reuse the inode number)", mkfile("fh/new", "new\n"));
	fd = TFD("open_by_handle_at fh/f after a new file (ESTALE)", open_by_handle_at(mfd, &f.h,
										       O_RDONLY));
	closefd(fd);
	drop_caches();
	fd = TFD("open_by_handle_at fh/f after drop_caches (ESTALE)", open_by_handle_at(mfd, &f.h,
											O_RDONLY));
	closefd(fd);
	fill_dir("fh/d", 0);
	T("rmdir fh/d", rmdir("fh/d"));
	drop_caches();
	fd = TFD("open_by_handle_at fh/d after rmdir (ESTALE)", open_by_handle_at(mfd, &d.h,
										  O_RDONLY | O_DIRECTORY));
	closefd(fd);

	step("file handles as uid 1234");
	pid = fork_as(ACL_UID, ACL_UID);
	if (pid == 0) {
		T("name_to_handle_at fh/new (any user)", get_handle("fh/new", &nope));
		fd = TFD("open_by_handle_at (needs CAP_DAC_READ_SEARCH: EPERM)",
			 open_by_handle_at(mfd, &nope.h, O_RDONLY));
		closefd(fd);
		child_done();
	}
	wait_child(pid);
	closefd(mfd);
}

static void link_fd(const char *desc, int fd, const char *to)
{
	T(desc, linkat(fd, "", AT_FDCWD, to, AT_EMPTY_PATH));
}

void s_tmpfile(void)
{
	char path[64];
	int fd, fd2;
	pid_t pid;

	step("O_TMPFILE: unnamed inode, linkat, freed on close");
	T("mkdir tf", mkdir("tf", 0755));
	fd = TFD("open tf O_TMPFILE|O_RDWR 0640", open("tf", O_TMPFILE | O_RDWR, 0640));
	T("write tmpdata", write(fd, "tmpdata\n", 8));
	showfd("tmpfile", fd);
	list_dir("tf");
	link_fd("linkat AT_EMPTY_PATH tf/a", fd, "tf/a");
	showfd("tmpfile after linkat", fd);
	link_fd("linkat AT_EMPTY_PATH tf/b (a second name)", fd, "tf/b");
	showfd("tmpfile after two links", fd);
	closefd(fd);
	show("tf/a");
	sum_path("tf/b");

	fd = TFD("open tf O_TMPFILE|O_WRONLY 0666 (umask 022)", open("tf", O_TMPFILE | O_WRONLY, 0666));
	showfd("tmpfile", fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	T("linkat /proc/self/fd/N tf/c AT_SYMLINK_FOLLOW",
	  linkat(AT_FDCWD, path, AT_FDCWD, "tf/c", AT_SYMLINK_FOLLOW));
	T("unlink tf/c", unlink("tf/c"));
	link_fd("linkat again after unlink (linkable once: ENOENT)", fd, "tf/c");
	closefd(fd);

	fd = TFD("open tf O_TMPFILE|O_RDWR|O_EXCL", open("tf", O_TMPFILE | O_RDWR | O_EXCL, 0600));
	link_fd("linkat of an O_EXCL tmpfile (ENOENT)", fd, "tf/excl");
	closefd(fd);

	fd = TFD("open tf O_TMPFILE|O_RDWR, never linked", open("tf", O_TMPFILE | O_RDWR, 0600));
	T("ftruncate 1 MiB", ftruncate(fd, 1 << 20));
	T("pwrite at 300000", pwrite(fd, "x", 1, 300000));
	showfd("unlinked tmpfile", fd);
	fd2 = TFD("second O_TMPFILE, open while the first closes", open("tf", O_TMPFILE | O_RDWR, 0600));
	closefd(fd);
	T("write to the second", write(fd2, "two", 3));
	closefd(fd2);
	list_dir("tf");

	fd = TFD("open tf O_TMPFILE|O_RDONLY (EINVAL)", open("tf", O_TMPFILE | O_RDONLY, 0600));
	closefd(fd);
	fd = TFD("open tf/a O_TMPFILE (not a dir: ENOTDIR)", open("tf/a", O_TMPFILE | O_RDWR, 0600));
	closefd(fd);

	T("mkdir tf/sg", mkdir("tf/sg", 0775));
	T("chown tf/sg 0:4321", chown("tf/sg", 0, 4321));
	T("chmod tf/sg 02775", chmod("tf/sg", 02775));
	fd = TFD("open tf/sg O_TMPFILE (set-group-ID dir)", open("tf/sg", O_TMPFILE | O_RDWR, 02755));
	showfd("tmpfile in tf/sg", fd);
	link_fd("linkat tf/sg/t", fd, "tf/sg/t");
	closefd(fd);

	T("mkdir tf/acl", mkdir("tf/acl", 0755));
	{
		struct acle e[] = {{A_USER_OBJ, 7, A_UNDEF_ID}, {A_USER, 6, ACL_UID},
				   {A_GROUP_OBJ, 5, A_UNDEF_ID}, {A_MASK, 7, A_UNDEF_ID},
				   {A_OTHER, 0, A_UNDEF_ID}};
		unsigned char b[128];
		size_t n = acl_encode(b, e, 5);

		T("setxattr tf/acl system.posix_acl_default u::rwx,u:1234:rw-,g::r-x,m::rwx,o::---",
		  setxattr("tf/acl", "system.posix_acl_default", b, n, 0));
	}
	fd = TFD("open tf/acl O_TMPFILE 0666 (default ACL)", open("tf/acl", O_TMPFILE | O_RDWR, 0666));
	showfd("tmpfile in tf/acl", fd);
	link_fd("linkat tf/acl/t", fd, "tf/acl/t");
	closefd(fd);
	show_acl("tf/acl/t", "system.posix_acl_access");

	T("mkdir tf/open 0777", mkdir("tf/open", 0777));
	T("chmod tf/open 0777", chmod("tf/open", 0777));
	step("O_TMPFILE as uid 1234");
	pid = fork_as(ACL_UID, ACL_UID);
	if (pid == 0) {
		fd = TFD("open tf O_TMPFILE (root's 0755 dir: EACCES)", open("tf", O_TMPFILE | O_RDWR, 0600));
		closefd(fd);
		fd = TFD("open tf/open O_TMPFILE 0640", open("tf/open", O_TMPFILE | O_RDWR, 0640));
		T("write mine", write(fd, "mine\n", 5));
		showfd("tmpfile of uid 1234", fd);
		link_fd("linkat tf/open/mine", fd, "tf/open/mine");
		closefd(fd);
		fd = TFD("open tf/open O_TMPFILE, not linked", open("tf/open", O_TMPFILE | O_RDWR, 0600));
		closefd(fd);
		child_done();
	}
	wait_child(pid);
	show("tf/open/mine");
	sum_path("tf/open/mine");
	list_dir("tf/open");
}

void s_whiteout(void)
{
	pid_t pid;

	step("renameat2 RENAME_WHITEOUT");
	T("mkdir wo", mkdir("wo", 0755));
	T("mkfile wo/a", mkfile("wo/a", "a\n"));
	T("renameat2 wo/a wo/b WHITEOUT", rename2("wo/a", "wo/b", RENAME_WHITEOUT));
	show("wo/a");
	show("wo/b");
	sum_path("wo/b");
	T("mkfile wo/c", mkfile("wo/c", "c\n"));
	T("renameat2 wo/b wo/c WHITEOUT (over a file)", rename2("wo/b", "wo/c", RENAME_WHITEOUT));
	show("wo/b");
	sum_path("wo/c");
	T("renameat2 wo/c wo/a WHITEOUT|NOREPLACE (EEXIST)",
	  rename2("wo/c", "wo/a", RENAME_WHITEOUT | RENAME_NOREPLACE));
	T("renameat2 wo/c wo/a WHITEOUT|EXCHANGE (EINVAL)",
	  rename2("wo/c", "wo/a", RENAME_WHITEOUT | RENAME_EXCHANGE));
	T("renameat2 wo/c wo/a WHITEOUT (over a whiteout)", rename2("wo/c", "wo/a", RENAME_WHITEOUT));
	show("wo/a");
	show("wo/c");
	T("renameat2 wo/missing wo/x WHITEOUT (ENOENT)", rename2("wo/missing", "wo/x", RENAME_WHITEOUT));
	T("mkdir wo/d1", mkdir("wo/d1", 0755));
	T("mkfile wo/d1/in", mkfile("wo/d1/in", "in\n"));
	T("mkdir wo/sub", mkdir("wo/sub", 0755));
	show_nlink("wo");
	T("renameat2 wo/d1 wo/sub/d2 WHITEOUT (a directory)", rename2("wo/d1", "wo/sub/d2", RENAME_WHITEOUT));
	show("wo/d1");
	show_nlink("wo");
	show_nlink("wo/sub");
	sum_path("wo/sub/d2/in");
	T("mkdir wo/e", mkdir("wo/e", 0755));
	T("renameat2 wo/sub/d2 wo/e WHITEOUT (over an empty dir)",
	  rename2("wo/sub/d2", "wo/e", RENAME_WHITEOUT));
	show("wo/sub/d2");
	show_nlink("wo/sub");
	T("mkdir wo/sg", mkdir("wo/sg", 0775));
	T("chown wo/sg 0:4321", chown("wo/sg", 0, 4321));
	T("chmod wo/sg 02775", chmod("wo/sg", 02775));
	T("mkfile wo/sg/f", mkfile("wo/sg/f", "f\n"));
	T("renameat2 wo/sg/f wo/sg/g WHITEOUT (set-group-ID dir)",
	  rename2("wo/sg/f", "wo/sg/g", RENAME_WHITEOUT));
	show("wo/sg/f");
	T("unlink wo/c (a whiteout)", unlink("wo/c"));
	list_dir("wo");
	list_dir("wo/sub");
	T("chmod wo 0777", chmod("wo", 0777));
	step("RENAME_WHITEOUT as uid 1234");
	pid = fork_as(ACL_UID, ACL_UID);
	if (pid == 0) {
		T("mkfile wo/u", mkfile("wo/u", "u\n"));
		T("renameat2 wo/u wo/v WHITEOUT (allowed unprivileged)",
		  rename2("wo/u", "wo/v", RENAME_WHITEOUT));
		show("wo/u");
		T("renameat2 wo/v wo/u (over the whiteout)", rename2("wo/v", "wo/u", 0));
		child_done();
	}
	wait_child(pid);
	list_dir("wo");
}

static void set_acl(const char *desc, const char *path, const char *name, int group_perm)
{
	struct acle e[] = {{A_USER_OBJ, 7, A_UNDEF_ID}, {A_USER, 5, 5},
			   {A_GROUP_OBJ, (uint16_t)group_perm, A_UNDEF_ID},
			   {A_MASK, 5, A_UNDEF_ID}, {A_OTHER, 5, A_UNDEF_ID}};
	unsigned char b[128];
	size_t n = acl_encode(b, e, 5);

	T(desc, setxattr(path, name, b, n, 0));
}

static void set_min_acl(const char *desc, const char *path)
{
	struct acle e[] = {{A_USER_OBJ, 7, A_UNDEF_ID}, {A_GROUP_OBJ, 5, A_UNDEF_ID},
			   {A_OTHER, 5, A_UNDEF_ID}};
	unsigned char b[64];
	size_t n = acl_encode(b, e, 3);

	T(desc, setxattr(path, "system.posix_acl_access", b, n, 0));
}

void s_acl_kill_sgid(void)
{
	static const char *files[] = { "sga/other", "sga/mine", "sga/root", "sga/min", "sga/d" };
	pid_t pid;
	size_t i;

	step("set-group-ID cleared when an access ACL is set: setup (as root)");
	T("mkdir sga 0777", mkdir("sga", 0777));
	T("chmod sga 0777", chmod("sga", 0777));
	T("mkfile sga/other (1234:0, not the owner's group)", mkfile("sga/other", "o"));
	T("chown sga/other 1234:0", chown("sga/other", ACL_UID, 0));
	T("mkfile sga/mine (1234:1234)", mkfile("sga/mine", "m"));
	T("chown sga/mine 1234:1234", chown("sga/mine", ACL_UID, ACL_UID));
	T("mkfile sga/root (1234:0, ACL set by root)", mkfile("sga/root", "r"));
	T("chown sga/root 1234:0", chown("sga/root", ACL_UID, 0));
	T("mkfile sga/min (1234:0, minimal ACL)", mkfile("sga/min", "n"));
	T("chown sga/min 1234:0", chown("sga/min", ACL_UID, 0));
	T("mkdir sga/d (1234:0)", mkdir("sga/d", 0755));
	T("chown sga/d 1234:0", chown("sga/d", ACL_UID, 0));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char d[80];

		snprintf(d, sizeof(d), "chmod %s 02755", files[i]);
		T(d, chmod(files[i], 02755));
	}
	set_acl("setxattr sga/root access ACL (root: keeps set-group-ID)", "sga/root",
		"system.posix_acl_access", 5);
	show("sga/root");

	step("set-group-ID and ACLs as uid 1234 (owner)");
	pid = fork_as(ACL_UID, ACL_UID);
	if (pid == 0) {
		set_acl("setxattr sga/other access ACL (outside the group: clears it)", "sga/other",
			"system.posix_acl_access", 5);
		show("sga/other");
		show_acl("sga/other", "system.posix_acl_access");
		set_acl("setxattr sga/mine access ACL (in the group: keeps it)", "sga/mine",
			"system.posix_acl_access", 5);
		show("sga/mine");
		set_min_acl("setxattr sga/min minimal access ACL (outside the group)", "sga/min");
		show("sga/min");
		T("getxattr sga/min (minimal ACL: not stored, ENODATA)",
		  getxattr("sga/min", "system.posix_acl_access", NULL, 0));
		set_acl("setxattr sga/d default ACL (not an access ACL: keeps it)", "sga/d",
			"system.posix_acl_default", 5);
		show("sga/d");
		T("chmod sga/d 02755 (chmod outside the group: cleared)", chmod("sga/d", 02755));
		show("sga/d");
		T("removexattr sga/other access ACL", removexattr("sga/other", "system.posix_acl_access"));
		show("sga/other");
		child_done();
	}
	wait_child(pid);
}

void s_fiemap(void)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[4];
	} m;
	int fd;

	step("ioctl FS_IOC_FIEMAP");
	T("mkdir fm", mkdir("fm", 0755));
	fd = TFD("create fm/f", open("fm/f", O_CREAT | O_RDWR, 0644));
	{
		static char buf[16384];

		memset(buf, 'f', sizeof(buf));
		T("write 16 KiB", write(fd, buf, sizeof(buf)));
	}
	memset(&m, 0, sizeof(m));
	m.fm.fm_length = FIEMAP_MAX_OFFSET;
	m.fm.fm_flags = FIEMAP_FLAG_SYNC;
	m.fm.fm_extent_count = 4;
	if (T("FIEMAP fm/f (SYNC)", ioctl(fd, FS_IOC_FIEMAP, &m)) == 0 && m.fm.fm_mapped_extents)
		out("FIEMAP fm/f: %u extent(s), first at %llu length %llu, last flags 0x%x",
		    m.fm.fm_mapped_extents, (unsigned long long)m.ext[0].fe_logical,
		    (unsigned long long)m.ext[0].fe_length,
		    m.ext[m.fm.fm_mapped_extents - 1].fe_flags & FIEMAP_EXTENT_LAST);
	closefd(fd);
}
