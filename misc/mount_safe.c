/*
 * mount.safe: mount an ext2/3/4 filesystem through the sandboxed fuse2fs
 * service.  mount(8) runs it for "mount -t safe.ext4 DEVICE DIR -o OPTS".
 *
 * This is the trusted half (lib/sandbox/proto.h has the exchange): it
 * opens only the device and the mountpoint named on its own command line,
 * decides the mount flags itself (nosuid,nodev always), checks the
 * server's mount options against an allow-list, and mounts /dev/fuse.
 * The server, which parses the untrusted image, only ever gets fds.
 *
 * Callers: root; or, when installed setuid root, a user who can open the
 * device read-write and write to the mountpoint (fusermount's rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "sandbox/proto.h"

#define DEFAULT_SOCKET	"/run/fuse2fs/safe.sock"
#define DEFAULT_TIMEOUT	30	/* seconds */
#define EXIT_USAGE	1	/* mount(8)'s helper conventions */
#define EXIT_MOUNTFAIL	32

struct request {
	const char *source, *target, *subtype;
	char options[NGSB_OPTS_MAX];	/* for the server */
	unsigned long flags;		/* MS_* the caller asked for */
	int readonly, verbose, fake;
	uid_t uid;
	gid_t gid;
	int root;
	int timeout_ms;
};

static const char *prog = "mount.safe";

static void __attribute__((format(printf, 1, 2))) msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int usage(void)
{
	fprintf(stderr, "usage: %s DEVICE MOUNTPOINT [-o OPTIONS] [-t safe.ext4] [-n] [-v]\n",
		prog);
	return EXIT_USAGE;
}

static int append_opt(char *buf, size_t size, const char *opt)
{
	size_t len = strlen(buf);

	if (len + !!len + strlen(opt) + 1 > size)
		return -1;
	if (len)
		buf[len++] = ',';
	strcpy(buf + len, opt);
	return 0;
}

/*
 * Generic mount options become our flags; options of mount(8) itself
 * (noauto, user, nofail, x-*, ...) are dropped; the rest goes to the
 * server, whose own parser judges it (errors=, acl, iomap=, ...).
 */
static int split_options(struct request *rq, char *opts)
{
	static const struct { const char *name; unsigned long set, clear; } generic[] = {
		{ "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY },
		{ "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME },
		{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
		{ "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
		{ "strictatime", MS_STRICTATIME, 0 },
		{ "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
		{ "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
		{ "dirsync", MS_DIRSYNC, 0 }, { "lazytime", MS_LAZYTIME, 0 },
		{ "nosuid", 0, 0 }, { "nodev", 0, 0 },	/* always on */
	};
	static const char *mount8_only[] = {
		"defaults", "auto", "noauto", "user", "users", "nouser", "owner", "group",
		"nofail", "_netdev", "loud", "silent", "nosymfollow",
	};
	char *save = NULL, *o;
	size_t i;

	for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		int done = 0;

		for (i = 0; i < sizeof(generic) / sizeof(generic[0]) && !done; i++) {
			if (strcmp(o, generic[i].name))
				continue;
			rq->flags = (rq->flags | generic[i].set) & ~generic[i].clear;
			done = 1;
		}
		for (i = 0; i < sizeof(mount8_only) / sizeof(mount8_only[0]) && !done; i++)
			done = !strcmp(o, mount8_only[i]);
		if (done || !strncmp(o, "x-", 2) || !strncmp(o, "comment=", 8))
			continue;
		if (!strcmp(o, "suid") || !strcmp(o, "dev")) {
			msg("ignoring \"%s\": sandboxed mounts are always nosuid,nodev", o);
			continue;
		}
		if (append_opt(rq->options, sizeof(rq->options), o)) {
			msg("too many mount options");
			return -1;
		}
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct request *rq)
{
	char *opts = NULL;
	int i, npos = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-o") && i + 1 < argc) {
			opts = argv[++i];
		} else if (!strcmp(a, "-t") && i + 1 < argc) {
			const char *t = argv[++i];

			if (strncmp(t, "safe.", 5) || (strcmp(t + 5, "ext2") &&
			    strcmp(t + 5, "ext3") && strcmp(t + 5, "ext4"))) {
				msg("unsupported type %s (safe.ext2, safe.ext3 or safe.ext4)", t);
				return -1;
			}
			rq->subtype = t + 5;
		} else if (!strcmp(a, "-v")) {
			rq->verbose = 1;
		} else if (!strcmp(a, "-f")) {
			rq->fake = 1;
		} else if (!strcmp(a, "-n") || !strcmp(a, "-s")) {
			/* no mtab to write (it is /proc/self/mounts); sloppy is our default */
		} else if (a[0] == '-') {
			msg("unknown option %s", a);
			return -1;
		} else if (npos == 0) {
			rq->source = a, npos++;
		} else if (npos == 1) {
			rq->target = a, npos++;
		} else {
			msg("unexpected argument %s", a);
			return -1;
		}
	}
	if (npos != 2)
		return -1;
	if (opts) {
		char *copy = strdup(opts);
		int err = copy ? split_options(rq, copy) : -1;

		free(copy);
		if (err)
			return -1;
	}
	rq->readonly = !!(rq->flags & MS_RDONLY);
	if (rq->readonly && append_opt(rq->options, sizeof(rq->options), "ro"))
		return -1;
	return 0;
}

/* Run as the caller for opens that authorize (a setuid helper). */
static void as_caller(const struct request *rq, int on)
{
	if (rq->root)
		return;
	setfsuid(on ? rq->uid : 0);
	setfsgid(on ? rq->gid : 0);
}

static int connect_service(const struct request *rq)
{
	const char *path = getenv("FUSE2FS_SAFE_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock, err;

	if (!path || !*path)
		path = DEFAULT_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		msg("socket path %s is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		msg("socket: %s", strerror(errno));
		return -1;
	}
	as_caller(rq, 1);
	err = connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	as_caller(rq, 0);
	if (err) {
		msg("cannot reach the fuse2fs service at %s: %s (is fuse2fs.socket running? "
		    "systemctl enable --now fuse2fs.socket)", path, strerror(err));
		close(sock);
		return -1;
	}
	/* We never take fds from the server. */
	ngsb_refuse_fds(sock);
	return sock;
}

/*
 * Open the device the caller named, exclusively: a second mount, or a
 * kernel mount of the same device, gets EBUSY.  Read-only when asked or
 * when the device is write-protected.  Non-root callers must be able to
 * open it read-write themselves.
 */
static int open_device(const struct request *rq, int want_rw, int *opened_rw)
{
	int fd, err, flags = O_CLOEXEC | O_NOCTTY | O_EXCL;
	struct stat st;

	want_rw = want_rw && !rq->readonly;
	as_caller(rq, 1);
	if (!rq->root && !want_rw) {
		/* Users mount only what they could write, even read-only. */
		fd = open(rq->source, flags | O_RDWR);
		if (fd >= 0)
			close(fd);
	} else {
		fd = 0;
	}
	if (fd >= 0)
		fd = open(rq->source, flags | (want_rw ? O_RDWR : O_RDONLY));
	if (fd < 0 && rq->root && want_rw && (errno == EROFS || errno == EACCES)) {
		fd = open(rq->source, flags | O_RDONLY);	/* write-protected */
		want_rw = 0;
	}
	err = errno;
	as_caller(rq, 0);
	if (fd < 0) {
		msg("%s: %s", rq->source, err == EBUSY ? "device is busy (mounted or in use)" :
		    strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || !(S_ISBLK(st.st_mode) || S_ISREG(st.st_mode))) {
		msg("%s: not a block device or an image file", rq->source);
		close(fd);
		return -ENOTBLK;
	}
	/* O_EXCL means nothing for regular files: a lock keeps images single-mounted. */
	if (S_ISREG(st.st_mode) && flock(fd, (want_rw ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		msg("%s: image is in use by another process", rq->source);
		close(fd);
		return -EBUSY;
	}
	*opened_rw = want_rw;
	return fd;
}

/*
 * The server's MOUNT request, checked: a fuse type for our subtype, and
 * only the data options a FUSE mount of ours uses.  Root decides
 * allow_other; the identity options are ours, not the server's.
 */
static int check_mount(const struct request *rq, struct ngsb_msg *m, char *data, size_t size)
{
	static const char *allowed[] = { "default_permissions", "allow_other", "max_read=" };
	char *copy, *o, *save = NULL;
	size_t i;
	int ok = 1;

	if (strncmp(m->u.mount.fstype, "fuse.", 5) || strncmp(m->u.mount.fstype + 5, "ext", 3)) {
		msg("the server asked for a mount of type %s: refused", m->u.mount.fstype);
		return EPERM;
	}
	data[0] = 0;
	if (!(copy = strdup(m->u.mount.data)))
		return ENOMEM;
	for (o = strtok_r(copy, ",", &save); o && ok; o = strtok_r(NULL, ",", &save)) {
		ok = 0;
		for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !ok; i++) {
			size_t n = strlen(allowed[i]);

			ok = allowed[i][n - 1] == '=' ? !strncmp(o, allowed[i], n) :
							 !strcmp(o, allowed[i]);
		}
		if (!ok)
			msg("the server asked for mount option \"%s\": refused", o);
		else if (!strcmp(o, "allow_other") && !rq->root)
			continue;	/* users get their own mount only */
		else if (append_opt(data, size, o))
			ok = 0;
	}
	free(copy);
	return ok ? 0 : EPERM;
}

static unsigned int attr_flags(unsigned long ms)
{
	unsigned int a = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

	if (ms & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (ms & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (ms & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	else if (ms & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	if (ms & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	return a;
}

/* fsopen/fsconfig/fsmount/move_mount onto the pinned mountpoint. */
static int mount_new_api(const struct request *rq, int target, const char *fstype,
			 const char *data, unsigned long ms)
{
	int fsfd, mfd, err = 0;
	char *copy, *o, *save = NULL;

	fsfd = fsopen("fuse", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return errno;
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", rq->source, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "subtype", fstype + 5, 0) < 0)
		err = errno;
	copy = strdup(data);
	for (o = copy ? strtok_r(copy, ",", &save) : NULL; o && !err;
	     o = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(o, '=');

		if (eq)
			*eq = 0;
		if (fsconfig(fsfd, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, o,
			     eq ? eq + 1 : NULL, 0) < 0)
			err = errno;
	}
	free(copy);
	if (!err && (ms & MS_RDONLY) && fsconfig(fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
		err = errno;
	if (!err && (ms & MS_SYNCHRONOUS) && fsconfig(fsfd, FSCONFIG_SET_FLAG, "sync", NULL, 0) < 0)
		err = errno;
	if (!err && (ms & MS_DIRSYNC) && fsconfig(fsfd, FSCONFIG_SET_FLAG, "dirsync", NULL, 0) < 0)
		err = errno;
	if (!err && (ms & MS_LAZYTIME) &&
	    fsconfig(fsfd, FSCONFIG_SET_FLAG, "lazytime", NULL, 0) < 0)
		err = errno;
	if (!err && fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		err = errno;
	if (!err) {
		mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attr_flags(ms));
		if (mfd < 0)
			err = errno;
		else if (move_mount(mfd, "", target, "",
				    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			err = errno;
		if (mfd >= 0)
			close(mfd);
	}
	close(fsfd);
	return err;
}

static int do_mount(const struct request *rq, int target, int fuse_fd, const char *fstype,
		    const char *opts, unsigned long ms)
{
	char data[NGSB_OPTS_MAX + 128], where[64];
	int err;

	snprintf(data, sizeof(data), "fd=%d,rootmode=%o,user_id=%u,group_id=%u%s%s", fuse_fd,
		 S_IFDIR, (unsigned)rq->uid, (unsigned)rq->gid, opts[0] ? "," : "", opts);
	ms |= MS_NOSUID | MS_NODEV;
	err = mount_new_api(rq, target, fstype, data, ms);
	if (err != ENOSYS)
		return err;
	/* Kernels before 5.2: mount(2) on the pinned directory. */
	snprintf(where, sizeof(where), "/proc/self/fd/%d", target);
	return mount(rq->source, where, fstype, ms, data) < 0 ? errno : 0;
}

static int send_msg(int sock, struct ngsb_msg *m)
{
	int err = ngsb_send(sock, m);

	if (err)
		msg("talking to the fuse2fs service: %s", strerror(err));
	return err;
}

/* Receive TYPE; the server's BYE text, a timeout or a hang-up end the mount. */
static int recv_msg(const struct request *rq, int sock, uint32_t type, struct ngsb_msg *m)
{
	char why[NGSB_TEXT_MAX + 64];
	int err = ngsb_expect(sock, type, m, rq->timeout_ms, why, sizeof(why));

	if (!err)
		return 0;
	if (err == ETIMEDOUT)
		msg("the fuse2fs service did not answer within %d s (waiting for %s)",
		    rq->timeout_ms / 1000, ngsb_type_name(type));
	else if (err == ECONNRESET)
		msg("the fuse2fs service hung up (waiting for %s); see its log "
		    "(journalctl -u 'fuse2fs@*')", ngsb_type_name(type));
	else if (err == EPROTO)
		msg("the fuse2fs service sent a bad message: %s", why);
	else
		msg("%s", why);	/* the server's own words (BYE) */
	return err;
}

static int run(struct request *rq)
{
	static struct ngsb_msg m;
	char data[NGSB_OPTS_MAX];
	int sock, dev = -1, target = -1, fuse_fd = -1, mounted = 0, rw = 0, err;

	target = open(rq->target, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0) {
		msg("mountpoint %s: %s", rq->target, strerror(errno));
		return EXIT_MOUNTFAIL;
	}
	if (!rq->root && access(rq->target, W_OK) < 0) {
		msg("mountpoint %s: you cannot write to it", rq->target);
		close(target);
		return EXIT_USAGE;
	}
	if ((sock = connect_service(rq)) < 0) {
		close(target);
		return EXIT_MOUNTFAIL;
	}
	ngsb_init(&m, NGSB_HELLO);
	m.u.hello.min_version = m.u.hello.max_version = NGSB_VERSION;
	m.u.hello.flags = rq->root ? NGSB_HELLO_ROOT : 0;
	m.u.hello.uid = rq->uid;
	m.u.hello.gid = rq->gid;
	if ((err = send_msg(sock, &m)) || (err = recv_msg(rq, sock, NGSB_HELLO_REPLY, &m)))
		goto out;
	ngsb_init(&m, NGSB_ARGS);
	snprintf(m.u.args.source, sizeof(m.u.args.source), "%s", rq->source);
	snprintf(m.u.args.options, sizeof(m.u.args.options), "%s", rq->options);
	if ((err = send_msg(sock, &m)) || (err = recv_msg(rq, sock, NGSB_OPEN_DEVICE, &m)))
		goto out;
	dev = open_device(rq, m.u.open_device.flags & NGSB_DEV_RW, &rw);
	ngsb_init(&m, NGSB_DEVICE);
	if (dev < 0) {
		m.error = -dev;
	} else {
		m.fd = dev;
		m.u.device.flags = rw ? NGSB_DEV_RW : 0;
	}
	if ((err = send_msg(sock, &m)) || (err = dev < 0 ? -dev : 0) ||
	    (err = recv_msg(rq, sock, NGSB_MOUNT, &m)))
		goto out;
	if ((err = check_mount(rq, &m, data, sizeof(data))))
		goto reply;
	if (!rw)
		m.u.mount.ms_flags |= MS_RDONLY;
	fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0) {
		err = errno;
		msg("/dev/fuse: %s", strerror(err));
		goto reply;
	}
	if (rq->fake) {
		err = ECANCELED;
		goto reply;
	}
	err = do_mount(rq, target, fuse_fd, m.u.mount.fstype, data,
		       (m.u.mount.ms_flags & (MS_RDONLY | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
					     MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS |
					     MS_DIRSYNC | MS_LAZYTIME)) | rq->flags);
	if (err)
		msg("cannot mount %s on %s: %s", rq->source, rq->target, strerror(err));
	mounted = !err;
reply:
	ngsb_init(&m, NGSB_FUSE_DEV);
	if (err)
		m.error = err;
	else
		m.fd = fuse_fd;
	if (!send_msg(sock, &m) && !err && !(err = recv_msg(rq, sock, NGSB_BYE, &m)) && m.error)
		err = m.error;
	if (err && mounted) {
		/* The server gave up after we mounted: take the dead mount away. */
		umount2(rq->target, MNT_DETACH | UMOUNT_NOFOLLOW);
		mounted = 0;
	}
	if (!err && rq->verbose)
		msg("%s mounted on %s (sandboxed fuse2fs)", rq->source, rq->target);
out:
	if (fuse_fd >= 0)
		close(fuse_fd);
	if (dev >= 0)
		close(dev);
	close(target);
	close(sock);
	if (rq->fake && err == ECANCELED)
		return 0;
	return err ? EXIT_MOUNTFAIL : 0;
}

int main(int argc, char **argv)
{
	struct request rq = { .subtype = "ext4" };
	const char *t = getenv("FUSE2FS_SAFE_TIMEOUT");

	if (argc > 0 && strrchr(argv[0], '/'))
		prog = strrchr(argv[0], '/') + 1;
	if (parse_args(argc, argv, &rq))
		return usage();
	rq.uid = getuid();
	rq.gid = getgid();
	rq.root = rq.uid == 0;
	if (!rq.root && geteuid() != 0) {
		msg("only root may mount (or install %s setuid root to let users mount devices "
		    "they can write)", prog);
		return EXIT_USAGE;
	}
	rq.timeout_ms = (t && atoi(t) > 0 ? atoi(t) : DEFAULT_TIMEOUT) * 1000;
	return run(&rq);
}
