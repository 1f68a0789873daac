/*
 * safe_mountpoint.h: the checks mount.safe makes for a caller who is not
 * root (it runs setuid root): which mountpoint, which device, how many
 * mounts, and how a mount it made is taken away again.  The rules are
 * fusermount3's (libfuse util/fusermount.c): every path is resolved once,
 * with the caller's own filesystem credentials, and pinned as an fd.
 */
#ifndef NG_SAFE_MOUNTPOINT_H
#define NG_SAFE_MOUNTPOINT_H

#include <sys/types.h>

struct caller {
	uid_t uid;
	gid_t gid;
	int root;		/* real uid 0: no checks, as for fusermount3 */
};

/* "mount.safe: ..." on stderr (mount_safe.c). */
void __attribute__((format(printf, 1, 2))) msg(const char *fmt, ...);

/* Take on (ON=1) or give back (ON=0) the caller's filesystem uid and gid. */
void caller_fs_creds(const struct caller *c, int on);

/*
 * Resolve PATH once as the caller, chdir into it and check it: a
 * directory on a filesystem type users may mount over, writable by the
 * caller, and not a sticky directory owned by someone else.  Returns an
 * O_PATH fd of the directory (the mount goes onto exactly that), or -1
 * after printing why.  Messages say only what the caller could have
 * learnt with their own credentials.
 */
int mountpoint_open(const struct caller *c, const char *path);

/* Open PATH with FLAGS as the caller (errno set on failure). */
int caller_open(const struct caller *c, const char *path, int flags);

/* FUSE mounts (fuse, fuseblk, fuse.*) visible in our mount namespace, or -1. */
int fuse_mount_count(void);

/*
 * Detach the mount whose root MOUNT_FD is (fsmount's fd, kept after
 * move_mount): the mount we made, never whatever a path names by now.
 */
int unmount_pinned(int mount_fd);

#endif
