/*
 * kmount.c: mount(2) of our own and the daemon handshake (see kmount.h).
 * Written by hand: libfuse 3.14 has no synchronous-INIT mount and does not
 * export its option parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fuse/kmount.h"
#include "fuse/wire_abi.h"

int kmount_open(struct kmount *km)
{
	memset(km, 0, sizeof(*km));
	km->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (km->fd < 0)
		return errno;
	/* ENOTTY: an older kernel; INIT is then read after mount(2) returns. */
	km->sync_init = ioctl(km->fd, NG_FUSE_DEV_IOC_SYNC_INIT) == 0;
	snprintf(km->fd_path, sizeof(km->fd_path), "/dev/fd/%d", km->fd);
	return 0;
}

/* Flag options of mount(8), as libfuse's mount code knows them. */
static const struct {
	const char *name;
	unsigned long set, clear;
} flag_opts[] = {
	{ "ro", MS_RDONLY, 0 },		{ "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },	{ "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },	{ "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },	{ "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },	{ "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, 0 },	{ "atime", 0, MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
	{ "relatime", MS_RELATIME, 0 },	{ "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
	{ "lazytime", MS_LAZYTIME, 0 },	{ "nolazytime", 0, MS_LAZYTIME },
};

int kmount_flag_option(const char *opt, unsigned long *flags)
{
	size_t i;

	for (i = 0; i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++) {
		if (!strcmp(opt, flag_opts[i].name)) {
			*flags = (*flags | flag_opts[i].set) & ~flag_opts[i].clear;
			return 1;
		}
	}
	return 0;
}

/* Options the fuse filesystem itself takes (passed in the data string). */
static int kernel_opt(const char *opt)
{
	static const char *const names[] = {
		"allow_other", "default_permissions", "max_read=", "blksize=",
		"context=", "fscontext=", "defcontext=", "rootcontext=",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (names[i][n - 1] == '=' ? !strncmp(opt, names[i], n) : !strcmp(opt, names[i]))
			return 1;
	}
	return 0;
}

static int append(char *buf, size_t len, const char *opt)
{
	size_t used = strlen(buf);

	if (used + strlen(opt) + 2 > len)
		return E2BIG;
	if (used)
		buf[used++] = ',';
	strcpy(buf + used, opt);
	return 0;
}

static int one_option(struct kmount *km, const char *opt, int *blkdev, char *subtype,
		      size_t sublen)
{
	if (kmount_flag_option(opt, &km->flags))
		return 0;
	if (!strcmp(opt, "blkdev")) {
		*blkdev = 1;
	} else if (!strncmp(opt, "fsname=", 7)) {
		if (strlen(opt + 7) >= sizeof(km->source))
			return E2BIG;
		memcpy(km->source, opt + 7, strlen(opt + 7) + 1);
	} else if (!strncmp(opt, "subtype=", 8)) {
		if (strlen(opt + 8) >= sublen)
			return E2BIG;
		memcpy(subtype, opt + 8, strlen(opt + 8) + 1);
	} else if (kernel_opt(opt)) {
		return append(km->data, sizeof(km->data), opt);
	}
	/* Everything else is libfuse's session business (or ignored there). */
	return 0;
}

/* Split "a,b\,c,d" into options, undoing libfuse's escapes. */
static int split_options(struct kmount *km, const char *list, int *blkdev, char *subtype,
			 size_t sublen)
{
	char opt[4200];
	size_t o = 0;
	int err;

	for (;; list++) {
		if (*list == '\\' && list[1]) {
			list++;
		} else if (*list == ',' || !*list) {
			opt[o] = 0;
			if (o && (err = one_option(km, opt, blkdev, subtype, sublen)))
				return err;
			o = 0;
			if (!*list)
				return 0;
			continue;
		}
		if (o + 1 >= sizeof(opt))
			return E2BIG;
		opt[o++] = *list;
	}
}

int kmount_options(struct kmount *km, const struct fuse_args *args, const char *mountpoint)
{
	char subtype[64] = "", extra[128];
	int i, blkdev = 0, err;

	km->flags = MS_NOSUID | MS_NODEV;	/* libfuse's defaults for a mount */
	km->data[0] = 0;
	for (i = 1; i < args->argc; i++) {
		const char *a = args->argv[i];

		if (!strcmp(a, "-o") && i + 1 < args->argc)
			a = args->argv[++i];
		else if (!strncmp(a, "-o", 2))
			a += 2;
		else
			continue;
		if ((err = split_options(km, a, &blkdev, subtype, sizeof(subtype))))
			return err;
	}
	snprintf(km->type, sizeof(km->type), "%s%s%s", blkdev ? "fuseblk" : "fuse",
		 subtype[0] ? "." : "", subtype);
	if (!km->source[0])
		snprintf(km->source, sizeof(km->source), "%s", subtype[0] ? subtype : "fuse");
	snprintf(extra, sizeof(extra), "fd=%d,rootmode=%o,user_id=%u,group_id=%u", km->fd,
		 S_IFDIR, (unsigned)getuid(), (unsigned)getgid());
	/* No device yet (service mode): the helper adds these itself. */
	if (km->fd < 0)
		extra[0] = 0;
	if (extra[0]) {
		char rest[sizeof(km->data)];

		snprintf(rest, sizeof(rest), "%s", km->data);
		snprintf(km->data, sizeof(km->data), "%s", extra);
		if (rest[0] && (err = append(km->data, sizeof(km->data), rest)))
			return err;
	}
	km->mountpoint = strdup(mountpoint);
	return km->mountpoint ? 0 : ENOMEM;
}

int kmount_mount(struct kmount *km)
{
	int tries = 0;

	/*
	 * fuseblk claims its block device exclusively.  A loop device that was
	 * just detached can still be claimed for a moment by the superblock of
	 * the mount that used it before (its daemon is exiting), so EBUSY from a
	 * fuseblk mount is retried for up to 2 s before it is reported.
	 */
	while (mount(km->source, km->mountpoint, km->type, km->flags, km->data) < 0) {
		if (errno != EBUSY || strncmp(km->type, "fuseblk", 7) || ++tries > 20)
			return errno;
		usleep(100000);
	}
	km->mounted = 1;
	return 0;
}

void kmount_unmount(struct kmount *km)
{
	if (km->mounted)
		umount2(km->mountpoint, MNT_DETACH);
	km->mounted = 0;
	free(km->mountpoint);
	km->mountpoint = NULL;
}

static int report_fd = -1;

int kmount_daemonize(void)
{
	int pipefd[2], status = 1;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return errno;
	pid = fork();
	if (pid < 0)
		return errno;
	if (pid > 0) {
		/* Parent: the child's mount result becomes our exit status. */
		unsigned char st;
		close(pipefd[1]);
		if (read(pipefd[0], &st, 1) == 1)
			status = st;
		else
			waitpid(pid, &status, 0), status = WIFEXITED(status) ? WEXITSTATUS(status) : 5;
		_exit(status ? status : 0);
	}
	close(pipefd[0]);
	report_fd = pipefd[1];
	setsid();
	if (chdir("/") < 0)
		return errno;
	return 0;
}

/* Tell the waiting parent how mounting went; stdio goes quiet on success. */
void kmount_report(int status)
{
	unsigned char st = status;
	int null;

	if (report_fd < 0)
		return;
	if (write(report_fd, &st, 1) < 0) {
		/* the parent is gone: nobody to tell */
	}
	close(report_fd);
	report_fd = -1;
	if (status)
		return;
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}
