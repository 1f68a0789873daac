/*
 * opts.c: the command line.  A superset of e2fsprogs' fuse2fs: our options
 * are taken out here, the rest (allow_other, -f, -d, -s, ...) goes on to
 * libfuse, which rejects what it does not know.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse/front.h"
#include "fuse/kmount.h"

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_IGNORED,
	KEY_KEEP_AND_SET,
	KEY_ATIME,		/* noatime, relatime, strictatime, nodiratime, lazytime, ... */
	KEY_SUID,		/* suid, nosuid */
	KEY_DEV,		/* dev, nodev */
};

#define OPT(t, field, v) { t, offsetof(struct front_config, field), v }

static const struct fuse_opt front_opts[] = {
	OPT("ro", fs.readonly, 1),
	OPT("rw", fs.readonly, 0),
	OPT("rw", rw_asked, 1),
	OPT("sb=%lu", fs.sb, 0),
	OPT("fakeroot", fakeroot, 1),
	OPT("kernel", kernel, 1),
	OPT("acl", acl, 1),
	OPT("noacl", acl, 0),
	OPT("norecovery", fs.norecovery, 1),
	OPT("noload", fs.norecovery, 1),
	OPT("force_unclean", fs.force_unclean, 1),
	OPT("journal_writes", fs.journal_writes, 1),
	OPT("nojournal_writes", fs.journal_writes, 0),
	OPT("commit=%u", fs.commit_interval, 0),
	OPT("errors=%s", errors, 0),
	OPT("offset=%lu", fs.offset, 0),
	OPT("minixdf", fs.minixdf, 1),
	OPT("bsddf", fs.minixdf, 0),
	OPT("dirsync", fs.dirsync, 1),
	OPT("lockfile=%s", lockfile, 0),
	OPT("cache_size=%s", cache_size, 0),
	OPT("directio", fs.directio, 1),
	OPT("fuse2fs_debug", fs.debug, 1),
	OPT("no_default_opts", no_default_opts, 1),
	OPT("noblkdev", noblkdev, 1),
	OPT("iomap=%s", iomap, 0),
	OPT("iomap_cache=%d", iomap_cache, 0),
	OPT("attr_timeout=%lf", attr_timeout, 0),
	OPT("entry_timeout=%lf", entry_timeout, 0),
	OPT("node_cache=%lu", node_cache, 0),
	/*
	 * Accepted for compatibility with e2fsprogs' fuse2fs, ext4, and the
	 * libfuse 2 / high-level options older scripts pass (libfuse 3's
	 * low-level session would reject them).
	 */
	FUSE_OPT_KEY("user_xattr", KEY_IGNORED),
	FUSE_OPT_KEY("big_writes", KEY_IGNORED),
	FUSE_OPT_KEY("use_ino", KEY_IGNORED),
	FUSE_OPT_KEY("readdir_ino", KEY_IGNORED),
	FUSE_OPT_KEY("kernel_cache", KEY_IGNORED),
	FUSE_OPT_KEY("auto_cache", KEY_IGNORED),
	FUSE_OPT_KEY("hard_remove", KEY_IGNORED),
	FUSE_OPT_KEY("nonempty", KEY_IGNORED),
	FUSE_OPT_KEY("large_read", KEY_IGNORED),
	FUSE_OPT_KEY("nouser_xattr", KEY_IGNORED),
	FUSE_OPT_KEY("noblock_validity", KEY_IGNORED),
	FUSE_OPT_KEY("nodelalloc", KEY_IGNORED),
	FUSE_OPT_KEY("noatime", KEY_ATIME),
	FUSE_OPT_KEY("atime", KEY_ATIME),
	FUSE_OPT_KEY("relatime", KEY_ATIME),
	FUSE_OPT_KEY("norelatime", KEY_ATIME),
	FUSE_OPT_KEY("strictatime", KEY_ATIME),
	FUSE_OPT_KEY("nostrictatime", KEY_ATIME),
	FUSE_OPT_KEY("nodiratime", KEY_ATIME),
	FUSE_OPT_KEY("diratime", KEY_ATIME),
	FUSE_OPT_KEY("lazytime", KEY_ATIME),
	FUSE_OPT_KEY("nolazytime", KEY_ATIME),
	FUSE_OPT_KEY("suid", KEY_SUID),
	FUSE_OPT_KEY("nosuid", KEY_SUID),
	FUSE_OPT_KEY("dev", KEY_DEV),
	FUSE_OPT_KEY("nodev", KEY_DEV),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

void front_usage(const char *prog)
{
	printf("Usage: %s [options] DEVICE-OR-IMAGE MOUNTPOINT\n\n"
	       "Serve an ext2/ext3/ext4 filesystem through FUSE.\n\n"
	       "Filesystem options (-o):\n"
	       "    ro / rw                 read-only / read-write (default rw)\n"
	       "    kernel                  allow_other,default_permissions,acl,suid,dev\n"
	       "    acl / noacl             POSIX ACLs, enforced by the kernel (default acl)\n"
	       "    fakeroot                no permission checks (implies nosuid,nodev)\n"
	       "    norecovery / noload     do not replay the journal (one that needs it: ro only)\n"
	       "    force_unclean           read-write although not cleanly unmounted or errors\n"
	       "    journal_writes / nojournal_writes  metadata through the journal (ordered\n"
	       "                            mode; default with a journal) / in place\n"
	       "    commit=SECONDS          journal_writes: commit at least this often (default 5)\n"
	       "    errors=continue|remount-ro|panic   on corruption (default: superblock)\n"
	       "    offset=BYTES            filesystem starts at this byte offset\n"
	       "    sb=N                    use the backup superblock at N KiB (as ext4's sb=);\n"
	       "                            read-only unless rw is given too\n"
	       "    minixdf / bsddf         statfs counts metadata / excludes it (default)\n"
	       "    dirsync                 flush after every directory change\n"
	       "    relatime / strictatime / noatime   when reads move atime (default relatime)\n"
	       "    nodiratime, lazytime    as for ext4 (see fuse2fs(8))\n"
	       "    suid,dev                honoured for root's own mounts (implied by kernel);\n"
	       "                            sandboxed and user mounts are always nosuid,nodev\n"
	       "    lockfile=PATH           create PATH exclusively while mounted\n"
	       "    cache_size=N[KMG]       accepted for compatibility (kernel page cache)\n"
	       "    directio                O_DIRECT access to the device\n"
	       "    noblkdev                do not use a loop device / fuseblk for images\n"
	       "    iomap=1|0|default       the kernel moves file data itself (kernels with\n"
	       "                            FUSE iomap); 1 fails without it (default: default)\n"
	       "    iomap_cache=1|0         push mappings into the kernel's cache (default 1)\n"
	       "    fuse2fs_debug           debug messages\n"
	       "    no_default_opts         do not add default FUSE options\n\n"
	       "FUSE options: -f (foreground), -d (debug), -s (single thread),\n"
	       "    -o allow_other, -o default_permissions, ... (see mount.fuse3(8))\n"
	       "Other: -h/--help, -V/--version\n\n"
	       "Exit status: 0 mounted, 1 usage, 2 bad device or filesystem,\n"
	       "    3 unsupported feature, 4 mount failed, 5 runtime failure.\n", prog);
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct front_config *cfg = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!cfg->device) {
			cfg->device = strdup(arg);
			return 0;
		}
		if (!cfg->mountpoint_checked++ && !front_is_dev_fd(arg)) {
			struct stat st;
			/* Say it here: libfuse's own message would exit 1. */
			int bad = stat(arg, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
			if (bad) {
				fprintf(stderr, "fuse2fs: mountpoint %s: %s\n", arg, strerror(bad));
				cfg->bad_mountpoint = 1;
			}
		}
		return 1;	/* the mountpoint: fuse_parse_cmdline takes it */
	case KEY_IGNORED:
		return 0;
	case KEY_ATIME:
		/*
		 * Ours: reads move atime in the daemon (FUSE inodes are
		 * S_NOATIME in the kernel).  Our own mount(2) gets the flags
		 * back (session.c); libfuse's mount only knows noatime.
		 */
		kmount_flag_option(arg, &cfg->atime_flags);
		return !strcmp(arg, "noatime");
	case KEY_SUID:
		cfg->said_suid = 1;
		return 1;
	case KEY_DEV:
		cfg->said_dev = 1;
		return 1;
	case KEY_HELP:
		front_usage(outargs->argv[0]);
		exit(FRONT_EXIT_OK);
	case KEY_VERSION:
		printf("fuse2fs (fuse2fs-ng) %s\n", PACKAGE_VERSION);
		exit(FRONT_EXIT_OK);
	}
	return 1;
}

static int parse_errors(struct front_config *cfg)
{
	if (!cfg->errors)
		return 0;
	if (!strcmp(cfg->errors, "continue"))
		cfg->fs.errors = NGFS_ERRORS_CONTINUE;
	else if (!strcmp(cfg->errors, "remount-ro"))
		cfg->fs.errors = NGFS_ERRORS_REMOUNT_RO;
	else if (!strcmp(cfg->errors, "panic"))
		cfg->fs.errors = NGFS_ERRORS_PANIC;
	else
		return -1;
	return 0;
}

static int parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || v == 0)
		return -1;
	if (*end && strchr("kKmMgG", *end))
		end++;
	return *end ? -1 : 0;
}

/* Returns 0 or an exit code (with the message already printed). */
int front_parse_args(int argc, char **argv, struct front_config *cfg)
{
	struct fuse_cmdline_opts copts;

	memset(cfg, 0, sizeof(*cfg));
	cfg->acl = -1;
	cfg->attr_timeout = FRONT_TIMEOUT_UNSET;	/* session.c picks the default */
	cfg->entry_timeout = FRONT_TIMEOUT_UNSET;
	cfg->node_cache = 131072;	/* a few MiB of nodes: prune.c */
	cfg->iomap_cache = 1;
	cfg->fs.journal_writes = 1;	/* filesystems with a journal */
	cfg->args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (fuse_opt_parse(&cfg->args, cfg, front_opts, opt_proc) == -1)
		return FRONT_EXIT_USAGE;
	if (cfg->bad_mountpoint)
		return FRONT_EXIT_MOUNT;
	if (fuse_parse_cmdline(&cfg->args, &copts) != 0)
		return FRONT_EXIT_USAGE;
	if (copts.show_help) {
		front_usage(argv[0]);
		exit(FRONT_EXIT_OK);
	}
	if (copts.show_version) {
		printf("fuse2fs (fuse2fs-ng) %s\n", PACKAGE_VERSION);
		exit(FRONT_EXIT_OK);
	}
	cfg->mountpoint = copts.mountpoint;
	cfg->foreground = copts.foreground;
	cfg->debug = copts.debug;
	cfg->singlethread = copts.singlethread;
	cfg->clone_fd = copts.clone_fd;
	cfg->max_threads = copts.max_threads;
	if (!cfg->device || !cfg->mountpoint) {
		fprintf(stderr, "fuse2fs: missing %s (usage: fuse2fs [options] DEVICE MOUNTPOINT)\n",
			cfg->device ? "mountpoint" : "device and mountpoint");
		return FRONT_EXIT_USAGE;
	}
	if (parse_errors(cfg)) {
		fprintf(stderr, "fuse2fs: bad option errors=%s (continue, remount-ro or panic)\n",
			cfg->errors);
		return FRONT_EXIT_USAGE;
	}
	if (cfg->cache_size && parse_size(cfg->cache_size)) {
		fprintf(stderr, "fuse2fs: bad option cache_size=%s\n", cfg->cache_size);
		return FRONT_EXIT_USAGE;
	}
	if (cfg->iomap && strcmp(cfg->iomap, "1") && strcmp(cfg->iomap, "0") &&
	    strcmp(cfg->iomap, "default")) {
		fprintf(stderr, "fuse2fs: bad option iomap=%s (1, 0 or default)\n", cfg->iomap);
		return FRONT_EXIT_USAGE;
	}
	if (cfg->iomap_cache != 0 && cfg->iomap_cache != 1) {
		fprintf(stderr, "fuse2fs: bad option iomap_cache=%d (1 or 0)\n", cfg->iomap_cache);
		return FRONT_EXIT_USAGE;
	}
	if ((cfg->attr_timeout < 0 && cfg->attr_timeout != FRONT_TIMEOUT_UNSET) ||
	    (cfg->entry_timeout < 0 && cfg->entry_timeout != FRONT_TIMEOUT_UNSET)) {
		fprintf(stderr, "fuse2fs: attr_timeout and entry_timeout cannot be negative\n");
		return FRONT_EXIT_USAGE;
	}
	if (cfg->kernel && cfg->acl < 0)
		cfg->acl = 1;
	if (cfg->acl < 0)
		cfg->acl = !cfg->fakeroot;
	if (cfg->fakeroot && cfg->acl) {
		fprintf(stderr, "fuse2fs: fakeroot and acl cannot be combined\n");
		return FRONT_EXIT_USAGE;
	}
	cfg->fs.acl = cfg->acl;
	/* The kernel's rules (path_mount): relatime unless noatime; strictatime beats both. */
	cfg->fs.atime = cfg->atime_flags & MS_STRICTATIME ? NGFS_ATIME_STRICT :
			cfg->atime_flags & MS_NOATIME ? NGFS_ATIME_NEVER : NGFS_ATIME_RELATIME;
	cfg->fs.nodiratime = !!(cfg->atime_flags & MS_NODIRATIME);
	/* A backup superblock is for rescue: look first, write only if asked. */
	if (cfg->fs.sb && !cfg->rw_asked)
		cfg->fs.readonly = 1;
	return 0;
}

/* What parsing allocated (libfuse's option parser duplicated the strings). */
void front_config_free(struct front_config *cfg)
{
	fuse_opt_free_args(&cfg->args);
	free(cfg->device);
	free(cfg->mountpoint);
	free(cfg->errors);
	free(cfg->lockfile);
	free(cfg->cache_size);
}
