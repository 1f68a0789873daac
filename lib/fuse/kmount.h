/*
 * kmount: mounting ourselves (as root), so that FUSE_INIT can run inside
 * mount(2) (FUSE_DEV_IOC_SYNC_INIT).  libfuse 3.14 opens /dev/fuse inside
 * its mount call, leaving no moment for that ioctl; so we open the device,
 * hand it to libfuse as "/dev/fd/N", and call mount(2) with the options
 * libfuse would have used.  Also the parent/child handshake of -f-less
 * runs: the parent exits with the child's mount result.
 */
#ifndef NG_KMOUNT_H
#define NG_KMOUNT_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <sys/mount.h>

struct kmount {
	int fd;			/* /dev/fuse */
	int sync_init;		/* INIT happens inside mount(2) */
	char fd_path[32];	/* "/dev/fd/N" for fuse_session_mount */
	char *mountpoint;
	int mounted;
	unsigned long flags;	/* MS_* */
	char source[1024];
	char type[80];
	char data[4096];
};

/* Open /dev/fuse and ask for synchronous INIT; errno on failure. */
int kmount_open(struct kmount *km);
/* Collect the mount options from libfuse-style ARGS ("-o a,b=c"). */
int kmount_options(struct kmount *km, const struct fuse_args *args, const char *mountpoint);
/*
 * A mount(8) flag option (nosuid, noatime, ...): apply it to *FLAGS and
 * return 1; 0 for anything else.
 */
int kmount_flag_option(const char *opt, unsigned long *flags);
/* The MS_* bits of the atime options. */
#define KMOUNT_ATIME_FLAGS (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | \
			    MS_LAZYTIME)
/* mount(2); errno on failure. */
int kmount_mount(struct kmount *km);
void kmount_unmount(struct kmount *km);

/* Fork; the parent waits for kmount_report() and exits with its status. */
int kmount_daemonize(void);
void kmount_report(int status);

#endif
