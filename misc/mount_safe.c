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
 * device read-write and write to the mountpoint, under fusermount3's rules
 * (safe_mountpoint.c).  For a setuid run nothing the caller controls
 * chooses the server: the socket and the timeout are compiled in or come
 * from a root-owned configuration file, never from the environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "safe_mountpoint.h"

#ifndef SAFE_SOCKET		/* configure --with-safe-socket= */
#define SAFE_SOCKET	"/run/fuse2fs/safe.sock"
#endif
#ifndef SAFE_CONF		/* configure --with-safe-conf= */
#define SAFE_CONF	"/etc/fuse2fs/safe.conf"
#endif
#define DEFAULT_TIMEOUT	30	/* seconds */
#define MAX_TIMEOUT	3600
#define DEFAULT_MOUNT_MAX 1000	/* FUSE mounts before users are refused (fusermount3's) */
#define EXIT_USAGE	1	/* mount(8)'s helper conventions */
#define EXIT_MOUNTFAIL	32

struct settings {
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int timeout_ms;
	long mount_max;		/* -1: no limit */
};

struct request {
	const char *source, *target, *subtype;
	char options[NGSB_OPTS_MAX];	/* for the server */
	unsigned long flags;		/* MS_* the caller asked for */
	int readonly, verbose, fake;
	struct caller who;
	struct settings set;
};

static const char *prog = "mount.safe";

void msg(const char *fmt, ...)
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

/*
 * A string from the server, fit for a terminal: only printable ASCII
 * survives (no escape sequences, no newlines, no C1 controls).
 */
static const char *clean(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = 0;
	return buf;
}

/* Seconds, 1..MAX_TIMEOUT, the whole string a decimal number; -1 if not. */
static int parse_timeout(const char *t)
{
	unsigned long v;
	char *end;

	if (!t || *t < '0' || *t > '9')
		return -1;
	errno = 0;
	v = strtoul(t, &end, 10);
	if (errno || *end || v < 1 || v > MAX_TIMEOUT)
		return -1;
	return (int)v * 1000;
}

static int set_socket(struct settings *set, const char *path, const char *from)
{
	if (path[0] != '/' || strlen(path) >= sizeof(set->socket)) {
		msg("%s: socket path must be absolute and shorter than %zu bytes", from,
		    sizeof(set->socket));
		return -1;
	}
	strcpy(set->socket, path);
	return 0;
}

/*
 * SAFE_CONF: "socket = PATH", "timeout = SECONDS", "mount_max = N" (-1:
 * no limit), '#' comments.  Read only when owned by root and writable by
 * no one else; anything it does not understand refuses the mount.
 */
static int read_config(struct settings *set)
{
	char line[512];
	struct stat st;
	int fd, n = 0, err = 0;
	FILE *f;

	fd = open(SAFE_CONF, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		msg("%s: %s", SAFE_CONF, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		msg("%s: ignored and refusing to mount: not a regular file owned by root "
		    "and writable only by root", SAFE_CONF);
		close(fd);
		return -1;
	}
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return -1;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char key[32], val[256], extra;
		char *hash = strchr(line, '#');
		long v;

		n++;
		if (hash)
			*hash = 0;
		if (sscanf(line, " %c", &extra) != 1)
			continue;	/* blank */
		if (sscanf(line, " %31[a-z_] = %255s %c", key, val, &extra) != 2) {
			err = -1;
		} else if (!strcmp(key, "socket")) {
			err = set_socket(set, val, SAFE_CONF);
		} else if (!strcmp(key, "timeout")) {
			set->timeout_ms = parse_timeout(val);
			err = set->timeout_ms < 0 ? -1 : 0;
		} else if (!strcmp(key, "mount_max")) {
			char *end;

			errno = 0;
			v = strtol(val, &end, 10);
			err = errno || *end || v < -1 ? -1 : 0;
			set->mount_max = v;
		} else {
			err = -1;
		}
		if (err)
			msg("%s, line %d: not understood (socket = PATH, timeout = 1..%d, "
			    "mount_max = N)", SAFE_CONF, n, MAX_TIMEOUT);
	}
	fclose(f);
	return err;
}

/* The configuration; the environment counts only for a caller who is root. */
static int settings(struct settings *set, int root)
{
	const char *sock = root ? getenv("FUSE2FS_SAFE_SOCKET") : NULL;
	const char *tmo = root ? getenv("FUSE2FS_SAFE_TIMEOUT") : NULL;

	strcpy(set->socket, SAFE_SOCKET);
	set->timeout_ms = DEFAULT_TIMEOUT * 1000;
	set->mount_max = DEFAULT_MOUNT_MAX;
	if (read_config(set))
		return -1;
	if (sock && *sock && set_socket(set, sock, "FUSE2FS_SAFE_SOCKET"))
		return -1;
	if (tmo && *tmo) {
		set->timeout_ms = parse_timeout(tmo);
		if (set->timeout_ms < 0) {
			msg("FUSE2FS_SAFE_TIMEOUT=%s: not a number of seconds in 1..%d", tmo,
			    MAX_TIMEOUT);
			return -1;
		}
	}
	return 0;
}

/*
 * A setuid program starts with whatever fds its caller left open: close
 * them (nothing may leak to the server or into the mount), and make sure
 * 0-2 exist, so that no file we open becomes someone's stderr.
 */
static void sanitize_fds(void)
{
	int fd;

	if (close_range(3, ~0U, 0) < 0)
		for (fd = 3; fd < 1024; fd++)
			close(fd);
	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			_exit(EXIT_USAGE);
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

/*
 * The service socket, connected as root: it is root's (mode 0600), and a
 * user reaches the service only through this program.  For a setuid run
 * the listener must be root's too.
 */
static int connect_service(const struct request *rq)
{
	const char *path = rq->set.socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred peer;
	socklen_t len = sizeof(peer);
	int sock;

	strcpy(sa.sun_path, path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		msg("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		msg("cannot reach the fuse2fs service at %s: %s (is fuse2fs.socket running? "
		    "systemctl enable --now fuse2fs.socket)", path, strerror(errno));
		close(sock);
		return -1;
	}
	if (!rq->who.root && (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 ||
			      peer.uid != 0)) {
		msg("the socket %s is not root's: refusing to talk to it", path);
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
	caller_fs_creds(&rq->who, 1);
	if (!rq->who.root && !want_rw) {
		/* Users mount only what they could write, even read-only. */
		fd = open(rq->source, flags | O_RDWR);
		if (fd >= 0)
			close(fd);
	} else {
		fd = 0;
	}
	if (fd >= 0)
		fd = open(rq->source, flags | (want_rw ? O_RDWR : O_RDONLY));
	if (fd < 0 && rq->who.root && want_rw && (errno == EROFS || errno == EACCES)) {
		fd = open(rq->source, flags | O_RDONLY);	/* write-protected */
		want_rw = 0;
	}
	err = errno;
	caller_fs_creds(&rq->who, 0);
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
 * The server's MOUNT request, checked: a plain fuse mount (the subtype is
 * ours, from -t), and only the data options a FUSE mount of ours uses.
 * Root decides allow_other; the identity options are ours, not the
 * server's.  Whatever of it we print is cleaned first.
 */
static int check_mount(const struct request *rq, struct ngsb_msg *m, char *data, size_t size)
{
	static const char *allowed[] = { "default_permissions", "allow_other", "max_read=" };
	const char *type = m->u.mount.fstype;
	char *copy, *o, *save = NULL, shown[NGSB_OPTS_MAX];
	size_t i;
	int ok = 1;

	if (strcmp(type, "fuse") && strncmp(type, "fuse.", 5)) {
		msg("the server asked for a mount of type %s: refused",
		    clean(type, shown, sizeof(shown)));
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
			msg("the server asked for mount option \"%s\": refused",
			    clean(o, shown, sizeof(shown)));
		else if (!strcmp(o, "allow_other") && !rq->who.root)
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

/*
 * fsopen/fsconfig/fsmount/move_mount onto the pinned mountpoint.  *MFD
 * keeps the new mount's root, the one handle we unmount it by.
 */
static int mount_new_api(const struct request *rq, int target, const char *data,
			 unsigned long ms, int *mfdp)
{
	int fsfd, mfd = -1, err = 0;
	char *copy, *o, *save = NULL;

	fsfd = fsopen("fuse", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return errno;
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", rq->source, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "subtype", rq->subtype, 0) < 0)
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
		if (err && mfd >= 0)
			close(mfd);
		else
			*mfdp = mfd;
	}
	close(fsfd);
	return err;
}

/*
 * Only the new mount API: with mount(2) we would have no handle on the
 * mount to take it away by, only a path.  (Linux 5.2 and later.)
 */
static int do_mount(const struct request *rq, int target, int fuse_fd, const char *opts,
		    unsigned long ms, int *mfd)
{
	char data[NGSB_OPTS_MAX + 128];
	int err;

	snprintf(data, sizeof(data), "fd=%d,rootmode=%o,user_id=%u,group_id=%u%s%s", fuse_fd,
		 S_IFDIR, (unsigned)rq->who.uid, (unsigned)rq->who.gid, opts[0] ? "," : "",
		 opts);
	ms |= MS_NOSUID | MS_NODEV;
	err = mount_new_api(rq, target, data, ms, mfd);
	if (err == ENOSYS)
		msg("this kernel has no fsopen(2) (Linux 5.2 or later is needed)");
	return err;
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
	int err = ngsb_expect(sock, type, m, rq->set.timeout_ms, why, sizeof(why));

	if (!err)
		return 0;
	if (err == ETIMEDOUT)
		msg("the fuse2fs service did not answer within %d s (waiting for %s)",
		    rq->set.timeout_ms / 1000, ngsb_type_name(type));
	else if (err == ECONNRESET)
		msg("the fuse2fs service hung up (waiting for %s); see its log "
		    "(journalctl -u 'fuse2fs@*')", ngsb_type_name(type));
	else if (err == EPROTO)
		msg("the fuse2fs service sent a bad message: %s", why);
	else
		msg("%s", why);	/* the server's own words (BYE), cleaned by ngsb_expect */
	return err;
}

static int run(struct request *rq)
{
	static struct ngsb_msg m;
	char data[NGSB_OPTS_MAX];
	int sock, dev = -1, target = -1, fuse_fd = -1, mfd = -1, rw = 0, err, serr;

	if (!rq->who.root && rq->set.mount_max >= 0) {
		int n = fuse_mount_count();

		if (n < 0 || n >= rq->set.mount_max) {
			msg("too many FUSE mounts (%d; mount_max = %ld in %s)", n,
			    rq->set.mount_max, SAFE_CONF);
			return EXIT_MOUNTFAIL;
		}
	}
	target = mountpoint_open(&rq->who, rq->target);
	if (target < 0)
		return EXIT_MOUNTFAIL;
	if ((sock = connect_service(rq)) < 0) {
		close(target);
		return EXIT_MOUNTFAIL;
	}
	ngsb_init(&m, NGSB_HELLO);
	m.u.hello.min_version = m.u.hello.max_version = NGSB_VERSION;
	m.u.hello.flags = rq->who.root ? NGSB_HELLO_ROOT : 0;
	m.u.hello.uid = rq->who.uid;
	m.u.hello.gid = rq->who.gid;
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
	/* As the caller: a user who may not open /dev/fuse gets no connection. */
	fuse_fd = caller_open(&rq->who, "/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0) {
		err = errno;
		msg("/dev/fuse: %s", strerror(err));
		goto reply;
	}
	if (rq->fake) {
		err = ECANCELED;
		goto reply;
	}
	err = do_mount(rq, target, fuse_fd, data,
		       (m.u.mount.ms_flags & (MS_RDONLY | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
					     MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS |
					     MS_DIRSYNC | MS_LAZYTIME)) | rq->flags, &mfd);
	if (err)
		msg("cannot mount %s on %s: %s", rq->source, rq->target, strerror(err));
reply:
	ngsb_init(&m, NGSB_FUSE_DEV);
	if (err)
		m.error = err;
	else
		m.fd = fuse_fd;
	if ((serr = send_msg(sock, &m)) && !err)
		err = serr;	/* the server is gone: the mount would be dead */
	else if (!err && !(err = recv_msg(rq, sock, NGSB_BYE, &m)) && m.error)
		err = m.error;
	if (err && mfd >= 0) {
		/* The server gave up after we mounted: take our dead mount away. */
		int uerr = unmount_pinned(mfd);

		if (uerr)
			msg("cannot take away the failed mount on %s: %s", rq->target,
			    strerror(uerr));
	}
	if (!err && rq->verbose)
		msg("%s mounted on %s (sandboxed fuse2fs)", rq->source, rq->target);
out:
	if (mfd >= 0)
		close(mfd);
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

	sanitize_fds();
	if (argc > 0 && argv[0] && strrchr(argv[0], '/'))
		prog = strrchr(argv[0], '/') + 1;
	if (parse_args(argc, argv, &rq))
		return usage();
	rq.who.uid = getuid();
	rq.who.gid = getgid();
	rq.who.root = rq.who.uid == 0;
	if (!rq.who.root && geteuid() != 0) {
		msg("only root may mount (or install %s setuid root to let users mount devices "
		    "they can write)", prog);
		return EXIT_USAGE;
	}
	if (settings(&rq.set, rq.who.root))
		return EXIT_USAGE;
	return run(&rq);
}
