/*
 * front: the FUSE side of fuse2fs-ng, on libfuse3's low-level API.
 *
 * Node ids are ext2 inode numbers, except that the root (ext2 inode 2) is
 * FUSE_ROOT_ID (1); ext2 inode 1 (bad blocks) is never exposed.  Every
 * handler has the same shape: take the filesystem lock, call one core verb
 * (lib/core), drop the lock, reply exactly once.
 */
#ifndef NG_FRONT_H
#define NG_FRONT_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <stdio.h>

#include "core/ngfs.h"

/* Everything the command line says (opts.c). */
struct front_config {
	char *device;
	char *mountpoint;
	struct ngfs_options fs;
	int acl;		/* -1: default (on unless fakeroot) */
	int fakeroot;
	int kernel;
	int noblkdev;
	int no_default_opts;
	int foreground;
	int debug;
	int singlethread;
	int clone_fd;
	unsigned int max_threads;
	char *lockfile;
	char *cache_size;
	char *errors;
	int mountpoint_checked;
	int bad_mountpoint;
	char *iomap;		/* -o iomap=1|0|default */
	int iomap_cache;	/* -o iomap_cache=1|0: push mappings to the kernel */
	double attr_timeout;	/* seconds the kernel may cache attributes */
	double entry_timeout;	/* seconds the kernel may cache names */
	unsigned long node_cache;	/* -o node_cache=N: nodes kept before pruning (0: no bound) */
#define FRONT_TIMEOUT_UNSET (-1.0)	/* not given: the mode decides (session.c) */
	struct fuse_args args;	/* what goes on to libfuse */
	int service;		/* --service: mount.safe passes the fds (service.c) */
	unsigned long atime_flags;	/* MS_* of the atime options given (KMOUNT_ATIME_FLAGS) */
	int said_suid, said_dev;	/* suid/nosuid, dev/nodev given: -o kernel leaves them */
	int rw_asked;		/* -o rw given (sb= is read-only otherwise) */
};

/* Exit codes, documented in fuse2fs(8). */
enum front_exit {
	FRONT_EXIT_OK = 0,
	FRONT_EXIT_USAGE = 1,
	FRONT_EXIT_BADFS = 2,
	FRONT_EXIT_REFUSED = 3,
	FRONT_EXIT_MOUNT = 4,
	FRONT_EXIT_RUNTIME = 5,
};

/* iomap mode: decided at FUSE_INIT (ops_ext.c). */
enum front_iomap_want { IOMAP_NEVER = 0, IOMAP_REQUIRED = 1, IOMAP_DEFAULT = -1 };
struct front_iomap {
	enum front_iomap_want want;
	int cache;		/* upsert mappings into the kernel's cache */
	int quiet;		/* no -o iomap given: classic mode needs no message */
	int dev_fd;		/* the block device the kernel does I/O on, or -1 */
	int fuseblk;		/* the kernel registered it itself, as id 1 */
	const char *why_not;	/* why this device cannot do iomap, or NULL */
	int on;			/* negotiated */
	uint32_t flags2;	/* the iomap INIT bits in effect */
	uint32_t attr_flags;	/* FUSE_ATTR_IOMAP_* for regular files */
	uint32_t dev_id;	/* device cookie of our mappings */
};

/* What the daemon served, logged at the end (tests read it). */
struct front_counters {
	uint64_t fuse_read, fuse_write;			/* requests */
	uint64_t data_read_bytes, data_write_bytes;	/* FUSE_READ/WRITE, block files */
	uint64_t inline_read_bytes, inline_write_bytes;	/* FUSE_READ/WRITE, inline files */
	uint64_t iomap_config, iomap_begin, iomap_end, iomap_ioend;
	uint64_t iomap_alloc;				/* BEGINs that allocated */
	uint64_t upserts, invals, statx, syncfs;
	uint64_t notify_errors;				/* notifications the kernel refused */
	uint64_t pruned;				/* inodes the kernel was asked to drop */
};

/* The node table bound (prune.c). */
struct front_prune {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int started, wanted, stop;
};

/* State of the wire layer (wire.c). */
struct front_wire {
	int fd;
	struct fuse_session *se;
	uint64_t init_unique;
	uint32_t offered_flags2;
	uint32_t offered_flags;	/* INIT's first flags word (FUSE_SETXATTR_EXT) */
	int setxattr_ext;	/* the kernel sends the extended SETXATTR */
};

struct front {
	struct ngfs nf;
	struct front_config *cfg;
	struct front_iomap iomap;
	struct front_counters counters;
	struct front_prune prune;
	struct front_wire wire;
	int fatal;		/* exit code when the session ends because of us */
	int kernel_checks;	/* default_permissions: the kernel checks access */
	double entry_timeout;
	double attr_timeout;
	int destroyed;
	int close_err;
};

/* An open file. */
struct front_file {
	ext2_ino_t ino;
	int append;
};

/* An open directory: a snapshot taken at offset 0 (see ops_dir.c). */
struct front_dirent {
	ext2_ino_t ino;
	int type;
	char *name;
};
struct front_dir {
	ext2_ino_t ino;
	struct front_dirent *ents;
	size_t n, cap;
	uint64_t entry_changes;	/* nf->entry_changes when the snapshot was taken */
};

/* libfuse's "/dev/fd/N" mountpoint: serve on an open fd, mount nothing. */
static inline int front_is_dev_fd(const char *path)
{
	unsigned int fd;
	char end;

	return sscanf(path, "/dev/fd/%u%c", &fd, &end) == 1;
}

/* opts.c */
int front_parse_args(int argc, char **argv, struct front_config *cfg);
void front_config_free(struct front_config *cfg);
void front_usage(const char *prog);

/* session.c */
int front_run(struct front_config *cfg);
void front_set_timeouts(struct front *f, int iomap);

/* service.c: fuse2fs --service, the sandboxed side of mount.safe */
int front_service_main(int argc, char **argv);
int front_service_device(struct front_config *cfg, int *fd, int *writable);
int front_service_mount(struct front_config *cfg);
void front_service_ready(struct front_config *cfg);
void front_log_counters(struct front *f);

/* ops_ext.c: after a layout change the kernel may have cached */
void front_iomap_inval(struct front *f, ext2_ino_t ino);
/* -o node_cache: start at INIT when the kernel can prune (prune.c); stop before close. */
void front_prune_start(struct front *f, unsigned int proto_minor);
void front_prune_stop(struct front *f);

static inline void front_count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

/* ops_*.c: the handler table and shared helpers */
extern const struct fuse_lowlevel_ops front_ops;

static inline struct front *front_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline ext2_ino_t ino_of(fuse_ino_t nodeid)
{
	return nodeid == FUSE_ROOT_ID ? EXT2_ROOT_INO : (ext2_ino_t)nodeid;
}

static inline fuse_ino_t nodeid_of(ext2_ino_t ino)
{
	return ino == EXT2_ROOT_INO ? FUSE_ROOT_ID : ino;
}

/* Take the filesystem lock as the request's caller (see ngfs_lock_as). */
static inline void front_lock(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	ngfs_lock_as(&front_of(req)->nf, ctx->uid, ctx->gid);
}

int front_entry(struct front *f, ext2_ino_t ino, struct fuse_entry_param *e);
void front_creds(fuse_req_t req, struct ngfs_creds *cr);
int front_new_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   dev_t rdev, const char *target, ext2_ino_t *ino);
int front_access(fuse_req_t req, ext2_ino_t ino, int mask);
void front_reply_entry(fuse_req_t req, int err, struct fuse_entry_param *e);

/* handler sets, one file each */
void front_op_init(void *userdata, struct fuse_conn_info *conn);
void front_op_destroy(void *userdata);
void front_op_statfs(fuse_req_t req, fuse_ino_t ino);
void front_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void front_op_lookup_dot(fuse_req_t req, fuse_ino_t nodeid, const char *name);
void front_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void front_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void front_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void front_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi);
void front_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void front_op_readlink(fuse_req_t req, fuse_ino_t ino);
void front_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		    dev_t rdev);
void front_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void front_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		      const char *name);
void front_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void front_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void front_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname, unsigned int flags);
void front_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname);
void front_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void front_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi);
void front_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void front_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		    off_t off, struct fuse_file_info *fi);
void front_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void front_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi);
void front_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			off_t length, struct fuse_file_info *fi);
void front_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		    struct fuse_file_info *fi);
void front_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			      struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			      off_t off_out, struct fuse_file_info *fi_out, size_t len,
			      int flags);
void front_op_bmap(fuse_req_t req, fuse_ino_t ino, size_t blocksize, uint64_t idx);
void front_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void front_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void front_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi);
void front_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void front_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi);
void front_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       const char *value, size_t size, int flags);
void front_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void front_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void front_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void front_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		    struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
		    size_t in_bufsz, size_t out_bufsz);

#endif
