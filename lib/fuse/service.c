/*
 * service.c: the daemon as a sandboxed, socket-activated service
 * (fuse2fs --service under fuse2fs@.service), the untrusted half of
 * mount.safe.  It never opens a device node and never mounts: the helper
 * sends the device and /dev/fuse as fds (lib/sandbox/proto.h).
 *
 *   accept    the connection systemd passed (sd_listen_fds), HELLO
 *   options   ARGS: the helper's source and -o options, parsed as ours
 *   device    OPEN_DEVICE -> DEVICE fd; the filesystem is opened on it
 *   mount     MOUNT {flags, type, data} -> FUSE_DEV fd (helper mounted)
 *   ready     BYE {0}; serve on /dev/fd/N until unmount
 *
 * Every failure before "ready" ends with BYE {errno, text}: the text is
 * the daemon's own message, which mount.safe prints for the user.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "fuse/front.h"
#include "fuse/kmount.h"
#include "sandbox/proto.h"

#define SERVICE_TIMEOUT_MS	30000	/* a helper that stops talking */
#define NOBODY			65534

static struct {
	int sock;
	FILE *real_stderr;
	char said[NGSB_TEXT_MAX];	/* the last message we printed */
} svc = { .sock = -1 };

/*
 * While setting up, what we print also becomes the BYE text: stderr is a
 * tee that keeps the last line (glibc's fopencookie).
 */
static ssize_t tee_write(void *cookie, const char *buf, size_t len)
{
	size_t keep = len < sizeof(svc.said) - 1 ? len : sizeof(svc.said) - 1;
	const char *start = buf + len - keep;

	(void)cookie;
	if (svc.real_stderr)
		fwrite(buf, 1, len, svc.real_stderr);
	/* Keep the last non-empty line; "fuse2fs: " prefixes stay out. */
	while (keep && (start[keep - 1] == '\n'))
		keep--;
	if (keep) {
		const char *nl = memrchr(start, '\n', keep);

		if (nl) {
			keep -= nl + 1 - start;
			start = nl + 1;
		}
		if (!strncmp(start, "fuse2fs: ", 9) && keep > 9) {
			start += 9;
			keep -= 9;
		}
		memcpy(svc.said, start, keep);
		svc.said[keep] = 0;
	}
	return len;
}

static void capture_begin(void)
{
	cookie_io_functions_t io = { .write = tee_write };
	FILE *tee = fopencookie(NULL, "w", io);

	if (!tee)
		return;
	setvbuf(tee, NULL, _IOLBF, 0);
	svc.real_stderr = stderr;
	stderr = tee;
}

static void capture_end(void)
{
	if (!svc.real_stderr)
		return;
	fclose(stderr);
	stderr = svc.real_stderr;
	svc.real_stderr = NULL;
}

static void say_bye(int err, const char *text)
{
	struct ngsb_msg m;

	if (svc.sock < 0)
		return;
	ngsb_init(&m, NGSB_BYE);
	m.error = err;
	snprintf(m.u.bye.text, sizeof(m.u.bye.text), "%s",
		 text && *text ? text : err ? strerror(err) : "ok");
	ngsb_send(svc.sock, &m);
	shutdown(svc.sock, SHUT_RDWR);
	close(svc.sock);
	svc.sock = -1;
}

/* The connection systemd (or systemd-socket-activate) passed us. */
static int listen_fd(void)
{
	int n, type = 0;
	socklen_t len = sizeof(type);

#ifdef HAVE_SYSTEMD
	n = sd_listen_fds(1);
#else
	/* sd_listen_fds(3) by hand: LISTEN_PID must be us. */
	{
		const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

		n = pid && fds && atoi(pid) == getpid() ? atoi(fds) : 0;
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		if (n > 0)
			fcntl(3, F_SETFD, FD_CLOEXEC);
	}
#endif
	if (n != 1) {
		fprintf(stderr, "fuse2fs: --service: %s (start it through fuse2fs.socket)\n",
			n < 1 ? "no connection was passed" : "more than one socket was passed");
		return -1;
	}
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
		fprintf(stderr, "fuse2fs: --service: fd 3 is not a SOCK_SEQPACKET connection\n");
		return -1;
	}
	return 3;
}

/*
 * Drop every capability but those in KEEP: the bounding set (when we may,
 * that is while we hold CAP_SETPCAP), the ambient and inheritable sets,
 * then the permitted and effective ones.  Hand-written over capget/capset
 * because libcap-ng cannot keep one capability of a non-root process
 * without also needing CAP_SETPCAP for the bounding set.
 */
static int drop_bounding(uint64_t keep)
{
	int c, r;

	for (c = 0; (r = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) >= 0; c++)
		if (r == 1 && !((keep >> c) & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    errno != EPERM)
			return errno;
	return 0;
}

static int drop_caps(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t prm, eff, inh;
	int c, err;

	if ((err = drop_bounding(keep)))
		return err;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return errno;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return errno;
	prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	eff = data[0].effective | (uint64_t)data[1].effective << 32;
	inh = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
	if (!((prm | eff) & ~keep) && !inh)
		return 0;	/* nothing to drop (capset is @privileged under systemd) */
	for (c = 0; c < 2; c++) {
		data[c].permitted &= (uint32_t)(keep >> (32 * c));
		data[c].effective = data[c].permitted;
		data[c].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) == 0)
		return 0;
	/*
	 * The seccomp filter of fuse2fs@.service refuses capset.  What the
	 * unit gave (CAP_SYS_RAWIO with the iomap drop-in) is then what we
	 * keep, and an inheritable bit with no ambient one is inert.
	 */
	return (prm | eff | inh) & ~keep ? errno : 0;
}

static uint64_t permitted_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return data[0].permitted | (uint64_t)data[1].permitted << 32;
}

/*
 * Nothing needs privilege here (the helper opens and mounts), so whatever
 * uid we start as, every capability goes, ambient and bounding included,
 * and no_new_privs keeps them from coming back through exec.  The one
 * exception is CAP_SYS_RAWIO in a process that is not root and was given
 * it (systemd/fuse2fs-iomap.conf): the kernel's iomap needs it.
 *
 * Started as root (by hand or a test): become uid 65534.  Every instance
 * started so shares that uid; under systemd, DynamicUser gives each its
 * own.  Picking a free uid per instance here would need an allocator of
 * our own (systemd's is the registry of dynamic users), so we do not.
 */
static int drop_privileges(void)
{
	uint64_t keep = 0;
	int err;

	if (geteuid() == 0) {
		/*
		 * The server of a mounted filesystem must not be the OOM
		 * killer's choice (writeback to it may be what frees memory);
		 * fuse2fs@.service says OOMScoreAdjust=-1000, by hand we need
		 * root for it, so before the drop.
		 */
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, "-1000", 5) != 5)
				fprintf(stderr, "fuse2fs: --service: oom_score_adj: %s\n",
					strerror(errno));
			close(fd);
		}
		/* The bounding set while we still hold CAP_SETPCAP. */
		if ((err = drop_bounding(0)) ||
		    setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0) {
			fprintf(stderr, "fuse2fs: --service: cannot change to uid %d: %s\n", NOBODY,
				strerror(err ? err : errno));
			return EPERM;
		}
	} else if (getuid() != 0) {
		keep = permitted_caps() & (1ULL << CAP_SYS_RAWIO);
	}
	if ((err = drop_caps(keep))) {
		fprintf(stderr, "fuse2fs: --service: cannot drop capabilities: %s\n", strerror(err));
		return err;
	}
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? errno : 0;
}

static int expect(uint32_t type, struct ngsb_msg *m)
{
	char why[256];
	int err = ngsb_expect(svc.sock, type, m, SERVICE_TIMEOUT_MS, why, sizeof(why));

	if (err)
		fprintf(stderr, "fuse2fs: --service: waiting for %s from mount.safe: %s\n",
			ngsb_type_name(type), why);
	return err;
}

/* HELLO and ARGS; CFG is parsed from the helper's options.  Exit code. */
static int handshake(struct front_config *cfg)
{
	static struct ngsb_msg m;	/* big: keep it off the stack */
	char *argv[8];
	int argc = 0;

	if (expect(NGSB_HELLO, &m))
		return FRONT_EXIT_USAGE;
	if (m.u.hello.min_version > NGSB_VERSION || m.u.hello.max_version < NGSB_VERSION) {
		fprintf(stderr, "fuse2fs: --service: mount.safe speaks protocol versions %u-%u, "
			"we speak %d\n", m.u.hello.min_version, m.u.hello.max_version,
			NGSB_VERSION);
		return FRONT_EXIT_USAGE;
	}
	ngsb_init(&m, NGSB_HELLO_REPLY);
	m.u.hello_reply.version = NGSB_VERSION;
	if (ngsb_send(svc.sock, &m) || expect(NGSB_ARGS, &m))
		return FRONT_EXIT_USAGE;
	/*
	 * Parsed like a command line: "fuse2fs SOURCE /dev/fd/0 -f -o OPTS".
	 * The mountpoint is a placeholder until /dev/fuse arrives; as a
	 * /dev/fd path it also keeps the parser from looking at the host.
	 */
	argv[argc++] = "fuse2fs";
	argv[argc++] = m.u.args.source;
	argv[argc++] = "/dev/fd/0";
	argv[argc++] = "-f";
	if (m.u.args.options[0]) {
		argv[argc++] = "-o";
		argv[argc++] = m.u.args.options;
	}
	argv[argc] = NULL;
	return front_parse_args(argc, argv, cfg);
}

int front_service_device(struct front_config *cfg, int *fd, int *writable)
{
	struct ngsb_msg m;
	struct stat st;

	ngsb_init(&m, NGSB_OPEN_DEVICE);
	m.u.open_device.flags = cfg->fs.readonly ? 0 : NGSB_DEV_RW;
	if (ngsb_send(svc.sock, &m) || expect(NGSB_DEVICE, &m))
		return FRONT_EXIT_BADFS;
	if (m.error) {
		fprintf(stderr, "fuse2fs: %s: %s\n", cfg->device, strerror(m.error));
		return FRONT_EXIT_BADFS;
	}
	if (fstat(m.fd, &st) < 0 || !(S_ISBLK(st.st_mode) || S_ISREG(st.st_mode))) {
		fprintf(stderr, "fuse2fs: %s: the helper sent something that is neither a block "
			"device nor an image file\n", cfg->device);
		close(m.fd);
		return FRONT_EXIT_BADFS;
	}
	*fd = m.fd;
	*writable = !!(m.u.device.flags & NGSB_DEV_RW);
	if (!*writable && !cfg->fs.readonly) {
		fprintf(stderr, "fuse2fs: %s: device is write-protected, mounting read-only\n",
			cfg->device);
		cfg->fs.readonly = 1;
	}
	return 0;
}

/*
 * Ask the helper to mount with the options a mount of ours would use
 * (kmount_options, without the fd/rootmode/user_id part: the helper adds
 * those itself), and take the /dev/fuse it mounted with.
 */
int front_service_mount(struct front_config *cfg)
{
	static struct ngsb_msg m;
	struct kmount km = { .fd = -1 };
	char path[32];
	int err;

	if ((err = kmount_options(&km, &cfg->args, "/"))) {
		fprintf(stderr, "fuse2fs: mount options: %s\n", strerror(err));
		return FRONT_EXIT_USAGE;
	}
	free(km.mountpoint);
	km.flags = (km.flags & ~KMOUNT_ATIME_FLAGS) | cfg->atime_flags;	/* see opts.c */
	if (strlen(km.type) >= sizeof(m.u.mount.fstype) ||
	    strlen(km.data) >= sizeof(m.u.mount.data)) {
		fprintf(stderr, "fuse2fs: mount options too long for mount.safe\n");
		return FRONT_EXIT_USAGE;
	}
	ngsb_init(&m, NGSB_MOUNT);
	m.u.mount.ms_flags = km.flags;
	memcpy(m.u.mount.fstype, km.type, strlen(km.type) + 1);
	memcpy(m.u.mount.data, km.data, strlen(km.data) + 1);
	if ((err = ngsb_send(svc.sock, &m))) {
		fprintf(stderr, "fuse2fs: --service: sending MOUNT: %s\n", strerror(err));
		return FRONT_EXIT_MOUNT;
	}
	if (expect(NGSB_FUSE_DEV, &m))
		return FRONT_EXIT_MOUNT;
	if (m.error) {
		fprintf(stderr, "fuse2fs: mount.safe could not mount %s: %s\n", cfg->device,
			strerror(m.error));
		return FRONT_EXIT_MOUNT;
	}
	/* From here on, no fd may come in any more. */
	ngsb_refuse_fds(svc.sock);
	snprintf(path, sizeof(path), "/dev/fd/%d", m.fd);
	free(cfg->mountpoint);
	cfg->mountpoint = strdup(path);
	return cfg->mountpoint ? 0 : FRONT_EXIT_RUNTIME;
}

/* Serving: tell the helper, and let go of the connection. */
void front_service_ready(struct front_config *cfg)
{
	capture_end();
	say_bye(0, "mounted");
#ifdef HAVE_SYSTEMD
	/* Only Type=notify units listen; elsewhere this does nothing. */
	sd_notifyf(0, "READY=1\nSTATUS=serving %s", cfg->device);
#else
	(void)cfg;
#endif
}

int front_service_main(int argc, char **argv)
{
	struct front_config cfg;
	int ret;

	(void)argv;
	memset(&cfg, 0, sizeof(cfg));
	if (argc != 2) {
		fprintf(stderr, "fuse2fs: --service takes no other arguments; options come from "
			"mount.safe\n");
		return FRONT_EXIT_USAGE;
	}
	if ((svc.sock = listen_fd()) < 0)
		return FRONT_EXIT_USAGE;
	capture_begin();
	if (drop_privileges()) {
		say_bye(EPERM, svc.said);
		capture_end();
		return FRONT_EXIT_RUNTIME;
	}
	ret = handshake(&cfg);
	if (!ret) {
		cfg.service = 1;
		cfg.foreground = 1;
		ret = front_run(&cfg);
	}
	/* Still connected: setup failed before the mount was served. */
	if (svc.sock >= 0)
		say_bye(ret == FRONT_EXIT_USAGE ? EINVAL : ret == FRONT_EXIT_BADFS ? EUCLEAN :
			ret ? EIO : ECANCELED, svc.said);
	capture_end();
	front_config_free(&cfg);
	return ret;
}
