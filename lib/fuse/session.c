/*
 * session.c: from a command line to a served mount.
 *
 *   open the device      (the image gets a loop device when we may attach one)
 *   open the filesystem  (refuse, or fall back to read-only, with a reason)
 *   mount                (fuseblk on block devices: umount waits for us)
 *   serve                (until unmount or a signal)
 *   close                (in DESTROY: everything on the device, then reply)
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fuse/front.h"
#include "fuse/kmount.h"
#include "fuse/wire.h"
#include "fuse/wire_abi.h"
#include "io/loopdev.h"

struct device {
	int image_fd;		/* what the user named (flock held on images) */
	int fd;			/* what we do I/O on: image, block device or loop */
	int writable;
	int blkdev;		/* mount as fuseblk */
	char path[64];		/* the block device path for fuseblk */
};

static int open_device(struct front_config *cfg, struct device *dev)
{
	int want_rw = !cfg->fs.readonly, flags = O_CLOEXEC, fd;
	struct stat st;

	memset(dev, 0, sizeof(*dev));
	dev->image_fd = dev->fd = -1;
	if (cfg->service) {
		/* mount.safe opened it (O_EXCL); plain fuse, the helper mounts. */
		int ret = front_service_device(cfg, &fd, &dev->writable);

		if (!ret)
			dev->image_fd = dev->fd = fd;
		return ret;
	}
	if (cfg->fs.directio)
		flags |= O_DIRECT;
	fd = open(cfg->device, flags | (want_rw ? O_RDWR : O_RDONLY));
	if (fd < 0 && want_rw && (errno == EROFS || errno == EACCES || errno == EPERM)) {
		fd = open(cfg->device, flags | O_RDONLY);
		if (fd >= 0)
			fprintf(stderr, "fuse2fs: %s: device is write-protected, mounting read-only\n",
				cfg->device);
		want_rw = 0;
	}
	if (fd < 0) {
		fprintf(stderr, "fuse2fs: %s: %s\n", cfg->device, strerror(errno));
		return FRONT_EXIT_BADFS;
	}
	dev->image_fd = dev->fd = fd;
	dev->writable = want_rw;
	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "fuse2fs: %s: %s\n", cfg->device, strerror(errno));
		return FRONT_EXIT_BADFS;
	}
	if (S_ISBLK(st.st_mode)) {
		int ro = 0;

		/* A read-only block device (BLKROSET, losetup -r) opens O_RDWR fine. */
		if (want_rw && ioctl(fd, BLKROGET, &ro) == 0 && ro) {
			int rfd = open(cfg->device, flags | O_RDONLY);
			if (rfd < 0) {
				fprintf(stderr, "fuse2fs: %s: %s\n", cfg->device, strerror(errno));
				return FRONT_EXIT_BADFS;
			}
			close(fd);
			dev->image_fd = dev->fd = fd = rfd;
			dev->writable = want_rw = 0;
			fprintf(stderr, "fuse2fs: %s: device is write-protected, mounting read-only\n",
				cfg->device);
		}
		/* Busy check only: fuseblk's own exclusive claim guards the mount. */
		int x = open(cfg->device, O_RDONLY | O_EXCL | O_CLOEXEC);
		if (x < 0 && errno == EBUSY) {
			fprintf(stderr, "fuse2fs: %s: device is busy (mounted or in use)\n",
				cfg->device);
			return FRONT_EXIT_BADFS;
		}
		if (x >= 0)
			close(x);
		dev->blkdev = geteuid() == 0 && !cfg->noblkdev;
		snprintf(dev->path, sizeof(dev->path), "%s", cfg->device);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "fuse2fs: %s: not a block device or an image file\n", cfg->device);
		return FRONT_EXIT_BADFS;
	}
	/*
	 * One daemon per image; the lock is held until everything is written.
	 * A daemon whose umount just returned drops it a moment later (after
	 * DESTROY): give it 2 s before calling the image busy.
	 */
	for (int i = 0; flock(fd, (want_rw ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0; i++) {
		if (errno == EWOULDBLOCK && i < 40) {
			usleep(50000);
			continue;
		}
		fprintf(stderr, "fuse2fs: %s: image is in use by another process\n", cfg->device);
		return FRONT_EXIT_BADFS;
	}
	if (geteuid() == 0 && !cfg->noblkdev) {
		int lfd = loopdev_attach(fd, !want_rw, dev->path, sizeof(dev->path));
		if (lfd >= 0) {
			dev->fd = lfd;
			dev->blkdev = 1;
		} else {
			fprintf(stderr, "fuse2fs: %s: cannot attach a loop device (%s); umount will "
				"not wait for the daemon (see fuse2fs(8))\n", cfg->device,
				strerror(-lfd));
		}
	}
	return 0;
}

static void close_device(struct device *dev)
{
	if (dev->fd >= 0 && dev->fd != dev->image_fd)
		close(dev->fd);
	if (dev->image_fd >= 0)
		close(dev->image_fd);	/* releases the flock: waiters may go on */
}

/*
 * iomap needs a block device the kernel can do I/O on: the device itself,
 * or the loop device over an image.  Whether the kernel offers iomap is
 * known only at FUSE_INIT (ops_ext.c); -o iomap=1 asks /dev/fuse first so
 * that a kernel without it fails the mount before anything is mounted.
 */
static int setup_iomap(struct front_config *cfg, struct front *f, struct device *dev)
{
	struct front_iomap *im = &f->iomap;
	struct stat st;

	im->want = !cfg->iomap || !strcmp(cfg->iomap, "default") ? IOMAP_DEFAULT :
		   !strcmp(cfg->iomap, "1") ? IOMAP_REQUIRED : IOMAP_NEVER;
	im->cache = cfg->iomap_cache;
	im->quiet = !cfg->iomap;
	im->dev_fd = -1;
	if (im->want == IOMAP_NEVER)
		return 0;
	if (fstat(dev->fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		im->dev_fd = dev->fd;
		im->fuseblk = dev->blkdev && !front_is_dev_fd(cfg->mountpoint);
	} else {
		im->why_not = "the device is an image file and no loop device could be attached";
	}
	if (cfg->fs.offset)
		im->why_not = "the filesystem does not start at byte 0 of the device (offset=)";
	if (im->want != IOMAP_REQUIRED || front_is_dev_fd(cfg->mountpoint))
		return 0;
	if (im->why_not) {
		fprintf(stderr, "fuse2fs: %s: iomap=1, but %s\n", cfg->device, im->why_not);
		return FRONT_EXIT_MOUNT;
	}
	{
		struct ng_iomap_support sup = { 0 };
		int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC), err = 0;

		if (fd < 0 || ioctl(fd, NG_FUSE_DEV_IOC_IOMAP_SUPPORT, &sup) < 0)
			err = errno;
		if (fd >= 0)
			close(fd);
		if (err || !(sup.flags & NG_IOMAP_SUPPORT_BASICS)) {
			fprintf(stderr, "fuse2fs: %s: iomap=1, but %s\n", cfg->device,
				err == ENOTTY ? "this kernel has no FUSE iomap support" :
				err ? strerror(err) :
				"iomap is not enabled for this process (needs CAP_SYS_RAWIO and "
				"the fuse.enable_iomap module parameter)");
			return FRONT_EXIT_MOUNT;
		}
	}
	return 0;
}

void front_log_counters(struct front *f)
{
	struct front_counters *c = &f->counters;

	ngfs_log("counters: mode=%s fuse_read=%llu fuse_write=%llu data_read_bytes=%llu "
		 "data_write_bytes=%llu inline_read_bytes=%llu inline_write_bytes=%llu "
		 "iomap_config=%llu iomap_begin=%llu iomap_end=%llu iomap_ioend=%llu "
		 "iomap_alloc=%llu upserts=%llu invals=%llu notify_errors=%llu statx=%llu "
		 "syncfs=%llu pruned=%llu nodes_peak=%zu",
		 f->iomap.on ? "iomap" : "classic",
		 (unsigned long long)c->fuse_read, (unsigned long long)c->fuse_write,
		 (unsigned long long)c->data_read_bytes, (unsigned long long)c->data_write_bytes,
		 (unsigned long long)c->inline_read_bytes,
		 (unsigned long long)c->inline_write_bytes,
		 (unsigned long long)c->iomap_config, (unsigned long long)c->iomap_begin,
		 (unsigned long long)c->iomap_end, (unsigned long long)c->iomap_ioend,
		 (unsigned long long)c->iomap_alloc, (unsigned long long)c->upserts,
		 (unsigned long long)c->invals, (unsigned long long)c->notify_errors,
		 (unsigned long long)c->statx,
		 (unsigned long long)c->syncfs, (unsigned long long)c->pruned,
		 f->nf.nodes_peak);
}

static int add_opt(struct fuse_args *args, const char *fmt, const char *val)
{
	char buf[4200];

	snprintf(buf, sizeof(buf), fmt, val);
	return fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, buf);
}

/* Escape commas and backslashes in an option value (libfuse's syntax). */
static void escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 2 < len; in++) {
		if (*in == ',' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = 0;
}

static int build_fuse_args(struct front_config *cfg, struct front *f, struct device *dev)
{
	struct fuse_args *a = &cfg->args;
	char esc[4100];
	int err = 0;

	escape(dev->blkdev ? dev->path : cfg->device, esc, sizeof(esc));
	err |= add_opt(a, "fsname=%s", esc);
	if (dev->blkdev) {
		char bs[32];
		/* st_blksize of the mount (FIGETBSZ): the fs block, at most a page. */
		snprintf(bs, sizeof(bs), "%u", f->nf.fs->blocksize > 4096 ? 4096 :
			 f->nf.fs->blocksize);
		err |= add_opt(a, "%s", "blkdev");
		err |= add_opt(a, "blksize=%s", bs);
	}
	if (!cfg->no_default_opts)
		err |= add_opt(a, "subtype=%s", ngfs_fstype(&f->nf));
	if (f->nf.readonly)
		err |= add_opt(a, "%s", "ro");
	if (cfg->kernel)
		err |= add_opt(a, "%s", "allow_other");
	if (cfg->fakeroot) {
		err |= add_opt(a, "%s", "nosuid");
		err |= add_opt(a, "%s", "nodev");
	} else {
		/* The kernel checks permissions (and ACLs) like for any local fs. */
		err |= add_opt(a, "%s", "default_permissions");
		f->kernel_checks = 1;
	}
	return err ? FRONT_EXIT_RUNTIME : 0;
}

static int take_lockfile(struct front_config *cfg)
{
	int fd;

	if (!cfg->lockfile)
		return 0;
	fd = open(cfg->lockfile, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "fuse2fs: lockfile %s: %s\n", cfg->lockfile, strerror(errno));
		return FRONT_EXIT_MOUNT;
	}
	dprintf(fd, "%d\n", (int)getpid());
	close(fd);
	return 0;
}

/* FUSE2FS_LOGFILE (as in e2fsprogs' fuse2fs): messages go there, not syslog. */
static int open_logfile(void)
{
	const char *path = getenv("FUSE2FS_LOGFILE");
	int fd;

	if (!path || !*path)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		fprintf(stderr, "fuse2fs: FUSE2FS_LOGFILE %s: %s; logging to syslog\n", path,
			strerror(errno));
	return fd;
}

static int serve(struct front_config *cfg, struct fuse_session *se)
{
	struct fuse_loop_config *lc;
	int ret;

	if (cfg->singlethread)
		return fuse_session_loop(se);
	lc = fuse_loop_cfg_create();
	if (!lc)
		return fuse_session_loop(se);
	fuse_loop_cfg_set_clone_fd(lc, cfg->clone_fd);
	fuse_loop_cfg_set_max_threads(lc, cfg->max_threads ? cfg->max_threads : 4);
	ret = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	return ret;
}

/*
 * How the session loop ended.  libfuse ends it with the signal number when
 * SIGTERM, SIGINT or SIGHUP arrives: the daemon stops while still mounted
 * (a busy mount that umount refused, or a kill): say so, the exit status
 * alone (5) says nothing.
 */
static int serve_result(struct front_config *cfg, int r)
{
	int sig = r < 0 ? -r : r;

	if (!r)
		return FRONT_EXIT_OK;
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
		ngfs_log("%s: stopped by SIG%s while mounted on %s; the mount is detached (it "
			 "disappears once no longer busy) and %s", cfg->device, sigabbrev_np(sig),
			 cfg->mountpoint, cfg->fs.readonly ? "the filesystem was not changed" :
			 "what was written is flushed before exit");
	else
		ngfs_log("%s: the FUSE session ended with an error: %s", cfg->device,
			 strerror(sig));
	return FRONT_EXIT_RUNTIME;
}

/* After mounting: messages go to FUSE2FS_LOGFILE, or syslog once detached. */
static void redirect_logs(struct front_config *cfg, int log_fd)
{
	if (!cfg->foreground && log_fd < 0) {
		openlog("fuse2fs", LOG_PID, LOG_DAEMON);
		ngfs_log_to_syslog();
	}
	if (log_fd >= 0) {
		dup2(log_fd, STDERR_FILENO);
		close(log_fd);
	}
}

/* Non-root (fusermount3) and "/dev/fd/N" sessions: libfuse mounts. */
static int mount_libfuse_and_serve(struct front_config *cfg, struct front *f,
				   struct fuse_session *se)
{
	int ret, log_fd;

	if (fuse_session_mount(se, cfg->mountpoint) != 0) {
		fprintf(stderr, "fuse2fs: cannot mount %s on %s\n", cfg->device, cfg->mountpoint);
		return FRONT_EXIT_MOUNT;
	}
	if (wire_attach(f, se, fuse_session_fd(se)) != 0 || fuse_set_signal_handlers(se) != 0) {
		fuse_session_unmount(se);
		return FRONT_EXIT_RUNTIME;
	}
	if (cfg->service)
		front_service_ready(cfg);
	log_fd = open_logfile();
	fuse_daemonize(cfg->foreground);
	redirect_logs(cfg, log_fd);
	ret = serve_result(cfg, serve(cfg, se));
	fuse_remove_signal_handlers(se);
	fuse_session_unmount(se);
	return ret;
}

struct serve_args {
	struct front_config *cfg;
	struct fuse_session *se;
	int ret;
};

static void *serve_thread(void *arg)
{
	struct serve_args *sa = arg;

	sa->ret = serve_result(sa->cfg, serve(sa->cfg, sa->se));
	return NULL;
}

/* The connection is gone (umount, abort): nothing left to unmount. */
static int connection_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/*
 * Root: mount(2) ourselves.  With synchronous INIT (6.18+) a reader runs
 * before mount(2), which returns once INIT (and, with iomap, the
 * IOMAP_CONFIG asked for inside it) is answered, so a refused mount is an
 * error of mount itself; older kernels take INIT after mount(2) returns.
 */
static int prepare_own_mount(struct front_config *cfg, struct kmount *km)
{
	int err;

	if ((err = kmount_open(km))) {
		fprintf(stderr, "fuse2fs: /dev/fuse: %s\n", strerror(err));
		return FRONT_EXIT_MOUNT;
	}
	/* Before fuse_session_new(), which consumes the mount options. */
	if ((err = kmount_options(km, &cfg->args, cfg->mountpoint))) {
		fprintf(stderr, "fuse2fs: mount options: %s\n", strerror(err));
		close(km->fd);
		return FRONT_EXIT_USAGE;
	}
	/* The atime options libfuse would reject were taken out (opts.c). */
	km->flags = (km->flags & ~KMOUNT_ATIME_FLAGS) | cfg->atime_flags;
	/*
	 * -o kernel: what a kernel ext4 mount means, suid and dev included
	 * (as e2fsprogs' fuse2fs -o kernel), unless said otherwise.  Only
	 * here: root's own mount; fusermount and mount.safe force nosuid,nodev.
	 */
	if (cfg->kernel && !cfg->fakeroot) {
		if (!cfg->said_suid)
			km->flags &= ~MS_NOSUID;
		if (!cfg->said_dev)
			km->flags &= ~MS_NODEV;
	}
	return 0;
}

/*
 * Readahead of a fuseblk mount: the kernel offers FUSE the default 128 KiB
 * window at INIT and takes the smaller of that and our answer, so the
 * window can only grow afterwards, through the mount's bdi in sysfs
 * ("MAJ:MIN-fuseblk" of the block device).  1 MiB (one FUSE_READ of
 * max_pages 256): cold sequential reads went from ~500 to ~750 MB/s
 * (dd bs=1M, 3 alternations).  Root's own mounts only; best effort.
 */
#define FRONT_READAHEAD_KB 1024
static void raise_readahead(const char *blkdev)
{
	char path[128];
	struct stat st;
	unsigned int kb = 0;
	FILE *fp;

	if (stat(blkdev, &st) || !S_ISBLK(st.st_mode))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u-fuseblk/read_ahead_kb",
		 major(st.st_rdev), minor(st.st_rdev));
	if ((fp = fopen(path, "r+")) == NULL)
		return;
	if (fscanf(fp, "%u", &kb) == 1 && kb < FRONT_READAHEAD_KB) {
		rewind(fp);
		fprintf(fp, "%u\n", FRONT_READAHEAD_KB);
	}
	fclose(fp);
}

static int mount_own_and_serve(struct front_config *cfg, struct front *f,
			       struct fuse_session *se, struct kmount *kmp,
			       const char *blkdev)
{
	struct serve_args sa = { .cfg = cfg, .se = se };
	pthread_t reader;
	int err, log_fd;
	/* libfuse takes the open device as "/dev/fd/N" (and closes it at the end). */
	if (fuse_session_mount(se, kmp->fd_path) != 0 || wire_attach(f, se, kmp->fd) != 0 ||
	    fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "fuse2fs: cannot set up the FUSE session\n");
		return FRONT_EXIT_RUNTIME;
	}
	log_fd = open_logfile();
	if (!cfg->foreground && (err = kmount_daemonize())) {
		fprintf(stderr, "fuse2fs: cannot detach: %s\n", strerror(err));
		return FRONT_EXIT_RUNTIME;
	}
	ngfs_debug(&f->nf, "mount: %s INIT, type %s, options %s",
		   kmp->sync_init ? "synchronous" : "asynchronous", kmp->type, kmp->data);
	if (kmp->sync_init && pthread_create(&reader, NULL, serve_thread, &sa)) {
		kmount_report(FRONT_EXIT_RUNTIME);
		return FRONT_EXIT_RUNTIME;
	}
	if (kmp->sync_init) {
		/*
		 * The stop signals are for the serving threads: caught here, in
		 * pthread_join, libfuse's handler marks the session done but no
		 * serving thread wakes up until the next request (a busy mount
		 * hung on SIGTERM).
		 */
		sigset_t stop;
		sigemptyset(&stop);
		sigaddset(&stop, SIGTERM);
		sigaddset(&stop, SIGINT);
		sigaddset(&stop, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &stop, NULL);
	}
	if ((err = kmount_mount(kmp))) {
		if (!f->fatal)
			fprintf(stderr, "fuse2fs: cannot mount %s on %s: %s\n", cfg->device,
				cfg->mountpoint, strerror(err));
		kmount_report(FRONT_EXIT_MOUNT);
		if (kmp->sync_init) {
			/* The reader waits on a device that was never attached. */
			ngfs_lock(&f->nf);
			ngfs_close(&f->nf);
			if (cfg->lockfile)
				unlink(cfg->lockfile);
			_exit(FRONT_EXIT_MOUNT);
		}
		kmount_unmount(kmp);
		return FRONT_EXIT_MOUNT;
	}
	kmount_report(FRONT_EXIT_OK);
	/* With synchronous INIT it is answered: the window is ours to grow. */
	if (blkdev && kmp->sync_init)
		raise_readahead(blkdev);
	redirect_logs(cfg, log_fd);
	if (kmp->sync_init)
		pthread_join(reader, NULL);
	else
		serve_thread(&sa);
	fuse_remove_signal_handlers(se);
	if (f->destroyed || connection_gone(kmp->fd))
		kmp->mounted = 0;	/* unmounted already: the path may hold another mount */
	kmount_unmount(kmp);
	return sa.ret;
}

/*
 * -o ro of a filesystem whose journal needs replay: as the kernel, replay
 * if the device can be written (opened read-write for that), then serve
 * read-only; a device that cannot be written is refused.
 */
static int reopen_for_replay(struct front_config *cfg, struct front *f, struct device *dev,
			     struct fdio_target *target, char *msg, size_t len)
{
	int ret;

	if (!cfg->service) {	/* the service gets the one descriptor mount.safe opened */
		close_device(dev);
		cfg->fs.readonly = 0;
		ret = open_device(cfg, dev);
		cfg->fs.readonly = 1;
		if (ret)
			return ret;
	}
	if (!dev->writable) {
		snprintf(msg, len, "%s: the journal needs recovery but the device is read-only; "
			 "mount with -o ro,norecovery to read it without replay", cfg->device);
		return NGFS_OPEN_REFUSED;
	}
	target->fd = dev->fd;
	target->writable = 1;
	target->image_fd = dev->fd != dev->image_fd ? dev->image_fd : -1;
	return ngfs_open(&f->nf, target, cfg->device, &cfg->fs, msg, len);
}

/*
 * This daemon owns the device exclusively, so in classic mode every change
 * to names and attributes reaches the kernel through a reply, or through a
 * notification where the daemon changes them on its own (ops_ioctl.c): the
 * kernel may cache both for long.  iomap mode keeps the old cautious
 * defaults (no attribute caching, names for 1 s): there the daemon moves
 * block counts and sizes while the kernel writes.  Explicit -o options win.
 */
#define CLASSIC_TIMEOUT 86400.0
void front_set_timeouts(struct front *f, int iomap)
{
	double attr = iomap ? 0.0 : CLASSIC_TIMEOUT, entry = iomap ? 1.0 : CLASSIC_TIMEOUT;

	f->attr_timeout = f->cfg->attr_timeout == FRONT_TIMEOUT_UNSET ? attr : f->cfg->attr_timeout;
	f->entry_timeout = f->cfg->entry_timeout == FRONT_TIMEOUT_UNSET ? entry : f->cfg->entry_timeout;
}

int front_run(struct front_config *cfg)
{
	struct fdio_target target;
	struct fuse_session *se = NULL;
	struct device dev;
	struct front *f;
	char msg[512];
	int ret, have_lock = 0, own_mount = 0;
	struct kmount km = { .fd = -1 };

	f = calloc(1, sizeof(*f));
	if (!f)
		return FRONT_EXIT_RUNTIME;
	f->cfg = cfg;
	front_set_timeouts(f, 0);

	if ((ret = open_device(cfg, &dev)))
		goto out;
	target.fd = dev.fd;
	target.writable = dev.writable;
	target.direct = cfg->fs.directio;
	target.offset = cfg->fs.offset;
	target.image_fd = dev.fd != dev.image_fd ? dev.image_fd : -1;
	ret = ngfs_open(&f->nf, &target, cfg->device, &cfg->fs, msg, sizeof(msg));
	if (ret == NGFS_OPEN_NEEDS_WRITE)
		ret = reopen_for_replay(cfg, f, &dev, &target, msg, sizeof(msg));
	if (ret) {
		fprintf(stderr, "fuse2fs: %s\n", msg);
		goto out;
	}
	if (f->nf.ro_reason)
		fprintf(stderr, "fuse2fs: %s: %s; mounting read-only\n", cfg->device,
			f->nf.ro_reason);
	if ((ret = setup_iomap(cfg, f, &dev)))
		goto out_close;
	if ((ret = build_fuse_args(cfg, f, &dev)))
		goto out_close;
	own_mount = !cfg->service && geteuid() == 0 && !front_is_dev_fd(cfg->mountpoint);
	if (own_mount && (ret = prepare_own_mount(cfg, &km)))
		goto out_close;
	/* Before fuse_session_new(), which consumes the mount options. */
	if (cfg->service && (ret = front_service_mount(cfg)))
		goto out_close;
	se = fuse_session_new(&cfg->args, &front_ops, sizeof(front_ops), f);
	if (!se) {
		if (own_mount)
			close(km.fd);
		/* libfuse printed which option it did not understand */
		ret = FRONT_EXIT_USAGE;
		goto out_close;
	}
	if ((ret = take_lockfile(cfg)))
		goto out_session;
	have_lock = 1;
	if ((ret = ngfs_start_writing(&f->nf))) {
		fprintf(stderr, "fuse2fs: %s: cannot write the superblock: %s\n", cfg->device,
			strerror(ret));
		ret = FRONT_EXIT_BADFS;
		goto out_session;
	}
	if (own_mount)
		ret = mount_own_and_serve(cfg, f, se, &km, dev.blkdev ? dev.path : NULL);
	else
		ret = mount_libfuse_and_serve(cfg, f, se);
	front_prune_stop(f);	/* no notifications after the session */
	if (f->fatal)
		ret = f->fatal;
	if (ret != FRONT_EXIT_MOUNT)
		front_log_counters(f);
out_session:
	fuse_session_destroy(se);	/* calls destroy if the kernel did not */
	if (!f->destroyed) {
		f->close_err = ngfs_close(&f->nf);
		f->destroyed = 1;
	}
	if (f->close_err) {
		ngfs_log("%s: final flush failed: %s", cfg->device, strerror(f->close_err));
		if (!ret)
			ret = FRONT_EXIT_RUNTIME;
	}
	goto out;
out_close:
	ngfs_close(&f->nf);
out:
	free(km.mountpoint);	/* kmount_unmount() took it when it ran */
	if (have_lock && cfg->lockfile)
		unlink(cfg->lockfile);
	close_device(&dev);
	free(f);
	return ret;
}
