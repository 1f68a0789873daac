/*
 * safe_mountpoint.c: mountpoint, device and mount-count checks of the
 * setuid mount.safe (safe_mountpoint.h).  The bar is fusermount3's; the
 * code is our own.
 *
 * The one rule that makes the rest hold: a path the caller gave is
 * resolved exactly once, with the caller's filesystem uid and gid, and
 * from then on only the resulting fd is used (to check, to mount on, to
 * unmount).  Swapping a parent directory for a symlink then changes
 * nothing: either the swap came first and the caller's own credentials
 * judge where it leads, or it came later and we no longer look.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "safe_mountpoint.h"

void caller_fs_creds(const struct caller *c, int on)
{
	if (c->root)
		return;
	/* gid first while the uid still allows it, and back in reverse */
	if (on) {
		setfsgid(c->gid);
		setfsuid(c->uid);
	} else {
		setfsuid(0);
		setfsgid(0);
	}
}

int caller_open(const struct caller *c, const char *path, int flags)
{
	int fd, err;

	caller_fs_creds(c, 1);
	fd = open(path, flags);
	err = errno;
	caller_fs_creds(c, 0);
	errno = err;
	return fd;
}

/*
 * Filesystems a user may mount over: ordinary local disk filesystems and
 * tmpfs, as fusermount3 allows.  Not proc, sysfs, cgroup, devpts, mqueue,
 * other FUSE mounts, ...: their directories are the kernel's, whatever
 * their mode says.  (devtmpfs reports TMPFS_MAGIC; its directories are
 * root's and not writable by users.)
 */
static int mountable_over(unsigned long type)
{
	static const unsigned long allowed[] = {
		EXT4_SUPER_MAGIC,	/* ext2, ext3, ext4 */
		XFS_SUPER_MAGIC, BTRFS_SUPER_MAGIC, TMPFS_MAGIC, F2FS_SUPER_MAGIC,
		OVERLAYFS_SUPER_MAGIC, REISERFS_SUPER_MAGIC, MSDOS_SUPER_MAGIC,
		0x2fc12fc1,		/* zfs */
		0xca451a4e,		/* bcachefs */
		0x3153464a,		/* jfs */
		0x3434,			/* nilfs2 */
		0x2011bab0,		/* exfat */
	};
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (type == allowed[i])
			return 1;
	return 0;
}

int mountpoint_open(const struct caller *c, const char *path)
{
	struct statfs sfs;
	struct stat st;
	int fd, err, cwd;

	/* Resolved once, as the caller: they can name only what they can reach. */
	fd = caller_open(c, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		msg("mountpoint %s: %s", path, strerror(errno));
		return -1;
	}
	if (c->root)
		return fd;	/* root decides for itself, as with mount(8) */
	/*
	 * fusermount3's model: the checks are made from inside the directory
	 * itself; then back, so that a relative device path means what the
	 * caller meant.
	 */
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0) {
		msg("the current directory: %s", strerror(errno));
		close(fd);
		return -1;
	}
	caller_fs_creds(c, 1);
	err = fchdir(fd) < 0 ? errno : 0;
	caller_fs_creds(c, 0);
	if (err) {
		msg("mountpoint %s: %s", path, strerror(err));
		goto refuse;
	}
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		msg("mountpoint %s: %s", path, strerror(errno));
		goto refuse;
	}
	if ((st.st_mode & S_ISVTX) && st.st_uid != c->uid) {
		msg("mountpoint %s: a sticky directory not owned by user %u", path,
		    (unsigned)c->uid);
		goto refuse;
	}
	/* access(2) judges by the real uid and gid: the caller's. */
	if (access(".", W_OK) < 0) {
		msg("mountpoint %s: user %u has no write access to it", path, (unsigned)c->uid);
		goto refuse;
	}
	if (!mountable_over((unsigned long)sfs.f_type)) {
		msg("mountpoint %s: users may not mount over a filesystem of type 0x%lx",
		    path, (unsigned long)sfs.f_type);
		goto refuse;
	}
	if (fchdir(cwd) < 0) {
		msg("back to the current directory: %s", strerror(errno));
		goto refuse;
	}
	close(cwd);
	return fd;
refuse:
	close(cwd);
	close(fd);
	return -1;
}

int fuse_mount_count(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* "... - FSTYPE SOURCE SUPEROPTS": the type follows the separator */
		char *sep = strstr(line, " - "), *type, *end;

		if (!sep)
			continue;
		type = sep + 3;
		end = strchr(type, ' ');
		if (end)
			*end = 0;
		if (!strcmp(type, "fuse") || !strcmp(type, "fuseblk") ||
		    !strncmp(type, "fuse.", 5) || !strncmp(type, "fuseblk.", 8))
			n++;
	}
	fclose(f);
	return n;
}

int unmount_pinned(int mount_fd)
{
	char where[64];

	/* The magic link names the mount itself; nothing in it can be swapped. */
	snprintf(where, sizeof(where), "/proc/self/fd/%d", mount_fd);
	return umount2(where, MNT_DETACH) < 0 ? errno : 0;
}
