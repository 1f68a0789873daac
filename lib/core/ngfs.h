/*
 * ngfs: the filesystem core of fuse2fs-ng, over libext2fs.
 *
 * Every function here is called with the filesystem lock held (ngfs_lock)
 * and returns 0 or a positive errno.  libext2fs error codes never leave this
 * layer: errors.c turns them into errno values, logs corruption with the
 * inode and the operation, and applies the errors= policy.
 *
 * The header is indexed by source file, like libext2fs' own.
 */
#ifndef NG_NGFS_H
#define NG_NGFS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <ext2fs/ext2fs.h>

#include "io/fdio.h"

/* When reading moves atime (the mount's atime options, kernel rules). */
enum ngfs_atime {
	NGFS_ATIME_RELATIME = 0,	/* default: atime <= mtime or ctime, or a day old */
	NGFS_ATIME_STRICT,		/* strictatime: every access */
	NGFS_ATIME_NEVER,		/* noatime */
};

/* What to do when corruption is detected (errors=). */
enum ngfs_errors {
	NGFS_ERRORS_DEFAULT = 0,	/* take it from the superblock */
	NGFS_ERRORS_CONTINUE,
	NGFS_ERRORS_REMOUNT_RO,
	NGFS_ERRORS_PANIC,
};

struct ngfs_options {
	int readonly;		/* -o ro */
	int norecovery;		/* -o norecovery / noload */
	int force_unclean;	/* -o force_unclean: rw despite an unclean state or errors */
	int acl;		/* POSIX ACLs (inherited on create, kept on chmod) */
	int minixdf;		/* statfs without metadata overhead */
	int dirsync;		/* flush after every directory change */
	int directio;		/* O_DIRECT on the device */
	int debug;		/* fuse2fs_debug */
	enum ngfs_errors errors;
	uint64_t offset;	/* byte offset of the filesystem */
	enum ngfs_atime atime;	/* noatime / relatime / strictatime */
	int nodiratime;		/* directories keep their atime */
	uint64_t sb;		/* -o sb=N: superblock at N KiB (a backup), 0: primary */
	int journal_writes;	/* -o journal_writes: metadata through the journal */
	unsigned int commit_interval;	/* -o commit=SECONDS (0: default 5) */
};

/* In-memory state of an inode the kernel knows about (node.c). */
struct ngfs_node {
	ext2_ino_t ino;
	uint64_t nlookup;	/* lookups the kernel has not forgotten */
	unsigned int nopen;	/* open file handles */
	int orphan;		/* on the orphan list: no names, still in use */
	int linkable;		/* O_TMPFILE: may get its first name (linkat) */
	struct ngfs_node *hnext;	/* hash chain */
	struct ngfs_node *onext;	/* orphan list, same order as on disk */
};

struct ngfs_dcache;
struct ngfs_metamap;
struct journal_w;

/* The commit= timer of journaled writes (mount.c). */
struct ngfs_commit_timer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int started, running, stop;
};

struct ngfs {
	ext2_filsys fs;
	pthread_mutex_t lock;	/* the filesystem lock: guards everything below */
	struct ngfs_options opts;
	const char *device;	/* for messages */
	int readonly;		/* writes get EROFS (ro mount or remount-ro) */
	int bitmaps_pending;	/* read-write, allocation bitmaps not loaded yet (bitmaps.c) */
	const char *ro_reason;	/* why we fell back to read-only, or NULL */
	int shutdown;		/* EXT4_IOC_SHUTDOWN: everything gets EIO */
	int dirty;		/* metadata changed since the last flush */
	struct ngfs_node **nodes;
	size_t nbuckets, nnodes;
	size_t nodes_peak;	/* most nodes held at once (the front's counters) */
	size_t node_limit;	/* 0, or ask for pruning past it (lib/fuse/prune.c) */
	size_t prune_cursor;	/* next bucket ngfs_nodes_pick looks at */
	void (*nodes_over)(struct ngfs *nf);	/* past node_limit: under the lock */
	struct ngfs_node *orphans;	/* head == s_last_orphan */
	struct ngfs_dcache *dcache;	/* name maps of large directories */
	struct ngfs_metamap *metamap;	/* fixed metadata blocks (fmap.c) */
	ext2fs_block_bitmap shared_blocks;	/* claimed by two owners (claims.c), or NULL */
	ext2fs_block_bitmap phantom_blocks;	/* in use, free on disk (claims.c), or NULL */
	ext2_ino_t *phantom_inodes;	/* likewise, inodes */
	size_t nphantom_inodes;
	uint64_t dcache_clock;
	uint64_t entry_changes;	/* names removed or repointed (readdir snapshots) */
	uint64_t max_file_size;
	blk64_t overhead;	/* metadata blocks, for statfs (computed once) */
	int caller_reserved;	/* current caller may use the root-reserved blocks */
	int kernel_acl;		/* the kernel applies umask and default ACLs (iomap) */
	uint64_t inline_io_calls;	/* transfers of inline data (the front's counters) */
	struct ngfs_inflight *inflight;	/* inodes with data moving unlocked (inflight.c) */
	size_t ninflight, inflight_cap;
	pthread_cond_t io_cond;		/* with lock: a drain or a transfer ended */
	int io_ready;
	struct journal_w *journal;	/* journaled writes are on (mount.c) */
	struct ngfs_commit_timer timer;
};

/* Allocation bitmaps, loaded at mount or at the first change (bitmaps.c). */
void ngfs_bitmaps_mount(struct ngfs *nf, int now);
int ngfs_bitmaps_load(struct ngfs *nf, int at_mount);
int ngfs_need_bitmaps(struct ngfs *nf);
void ngfs_bitmaps_guard(struct ngfs *nf);

/* Between verbs: commit a journal transaction that grew large (mount.c). */
void ngfs_journal_between_verbs(struct ngfs *nf);

/* Inode attribute selectors. */
enum ngfs_time { NGFS_ATIME, NGFS_MTIME, NGFS_CTIME, NGFS_CRTIME };

static inline void ngfs_lock(struct ngfs *nf) { pthread_mutex_lock(&nf->lock); }
/* Take the lock on behalf of a caller: reserved blocks are for root (and resuid/resgid). */
static inline void ngfs_lock_as(struct ngfs *nf, uid_t uid, gid_t gid)
{
	pthread_mutex_lock(&nf->lock);
	nf->caller_reserved = uid == 0 || (nf->fs && (uid == nf->fs->super->s_def_resuid ||
						     gid == nf->fs->super->s_def_resgid));
}
static inline void ngfs_unlock(struct ngfs *nf)
{
	if (nf->bitmaps_pending)
		ngfs_bitmaps_guard(nf);
	if (nf->journal)
		ngfs_journal_between_verbs(nf);
	pthread_mutex_unlock(&nf->lock);
}

/* How an inode keeps its data: in the inode itself, or in an extent tree. */
static inline int ngfs_inode_inline(const struct ext2_inode_large *inode)
{
	return inode->i_flags & EXT4_INLINE_DATA_FL;
}
static inline int ngfs_inode_extents(const struct ext2_inode_large *inode)
{
	return inode->i_flags & EXT4_EXTENTS_FL;
}

/* errors.c */
int ngfs_errno(struct ngfs *nf, errcode_t err, const char *op, ext2_ino_t ino);
int ngfs_corrupt(struct ngfs *nf, const char *op, ext2_ino_t ino, const char *what);
void ngfs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ngfs_log_to_syslog(void);
void ngfs_debug(struct ngfs *nf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ngfs_check_writable(struct ngfs *nf);
int ngfs_check_alive(struct ngfs *nf);

/* mount.c */
enum ngfs_open_result {
	NGFS_OPEN_OK = 0,
	NGFS_OPEN_BADFS = 2,	/* unreadable, not ext2/3/4, bad superblock */
	NGFS_OPEN_REFUSED = 3,	/* a feature we cannot serve at all */
	NGFS_OPEN_NEEDS_WRITE = 100,	/* -o ro, the journal needs replay: open the device rw */
};
int ngfs_open(struct ngfs *nf, const struct fdio_target *dev, const char *device,
	      const struct ngfs_options *opts, char *msg, size_t msglen);
int ngfs_start_writing(struct ngfs *nf);
int ngfs_close(struct ngfs *nf);
int ngfs_flush(struct ngfs *nf, int sync_device);
int ngfs_statfs(struct ngfs *nf, struct statvfs *st);
const char *ngfs_fstype(struct ngfs *nf);
blk64_t ngfs_space_grant(struct ngfs *nf, blk64_t want);

/* inode.c */
int ngfs_read_inode(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode);
int ngfs_write_inode(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode);
int ngfs_valid_ino(struct ngfs *nf, ext2_ino_t ino);
void ngfs_inode_stat(struct ngfs *nf, ext2_ino_t ino,
		     const struct ext2_inode_large *inode, struct stat *st);
int ngfs_getattr(struct ngfs *nf, ext2_ino_t ino, struct stat *st);
void ngfs_now(struct timespec *ts);
void ngfs_get_time(const struct ext2_inode_large *inode, enum ngfs_time which,
		   struct timespec *ts);
void ngfs_set_time(struct ngfs *nf, struct ext2_inode_large *inode,
		   enum ngfs_time which, const struct timespec *ts);
void ngfs_touch(struct ngfs *nf, struct ext2_inode_large *inode, int mtime);
int ngfs_atime_due(struct ngfs *nf, const struct ext2_inode_large *inode,
		   const struct timespec *now);
int ngfs_accessed(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode);
int ngfs_dir_accessed(struct ngfs *nf, ext2_ino_t dir);
uid_t ngfs_inode_uid(const struct ext2_inode_large *inode);
gid_t ngfs_inode_gid(const struct ext2_inode_large *inode);
void ngfs_set_owner(struct ext2_inode_large *inode, uid_t uid, gid_t gid);
uint64_t ngfs_inode_size(const struct ext2_inode_large *inode);
int ngfs_set_size(struct ngfs *nf, struct ext2_inode_large *inode, uint64_t size);
void ngfs_init_inode(struct ngfs *nf, struct ext2_inode_large *inode, mode_t mode,
		     uid_t uid, gid_t gid);
void ngfs_stamp_new(struct ngfs *nf, struct ext2_inode_large *inode);
uint32_t ngfs_new_generation(void);
void ngfs_coarse_clock(int on);
struct ngfs_statx {
	struct stat st;
	struct timespec btime;
	int has_btime;
	uint64_t attributes, attributes_mask;	/* STATX_ATTR_* */
};
int ngfs_statx(struct ngfs *nf, ext2_ino_t ino, struct ngfs_statx *sx);

/* node.c: lookup counts, open counts, the orphan list */
int ngfs_node_known(struct ngfs *nf, ext2_ino_t ino);
/*
 * Up to MAX inodes the kernel holds but nothing has open (not the root, not
 * orphans), from where the last call stopped: candidates for the kernel to
 * drop from its caches (lib/fuse/prune.c).  Returns how many were put in OUT.
 */
size_t ngfs_nodes_pick(struct ngfs *nf, uint64_t *out, size_t max);
struct ngfs_node *ngfs_node_get(struct ngfs *nf, ext2_ino_t ino);
void ngfs_node_lookup(struct ngfs *nf, ext2_ino_t ino);
void ngfs_node_forget(struct ngfs *nf, ext2_ino_t ino, uint64_t nlookup);
void ngfs_node_open(struct ngfs *nf, ext2_ino_t ino);
void ngfs_node_release(struct ngfs *nf, ext2_ino_t ino);
int ngfs_drop_link(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode);
int ngfs_orphan_new(struct ngfs *nf, ext2_ino_t ino);
int ngfs_node_linkable(struct ngfs *nf, ext2_ino_t ino);
int ngfs_node_linked(struct ngfs *nf, ext2_ino_t ino);
int ngfs_node_orphaned(struct ngfs *nf, ext2_ino_t ino);
int ngfs_check_freeable(struct ngfs *nf, ext2_ino_t ino);
int ngfs_release_orphans(struct ngfs *nf);
int ngfs_free_inode(struct ngfs *nf, ext2_ino_t ino);

/* orphan.c: orphans an unclean shutdown left (list and orphan file) */
int ngfs_recover_orphans(struct ngfs *nf, char *why, size_t len);
void ngfs_nodes_free(struct ngfs *nf);

/* dcache.c: name maps of large directories */
int ngfs_dcache_lookup(struct ngfs *nf, ext2_ino_t dir, uint64_t dir_size,
		       const char *name, ext2_ino_t *ino);
void ngfs_dcache_set(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino);
void ngfs_dcache_set_at(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			blk64_t lblk);
int ngfs_dcache_appendable(struct ngfs *nf, ext2_ino_t dir);
void ngfs_dcache_hole_used(struct ngfs *nf, ext2_ino_t dir, int full);
int ngfs_dcache_where(struct ngfs *nf, ext2_ino_t dir, const char *name, blk64_t *lblk);
void ngfs_dcache_remove(struct ngfs *nf, ext2_ino_t dir, const char *name);
void ngfs_dcache_drop(struct ngfs *nf, ext2_ino_t dir);
void ngfs_dcache_free(struct ngfs *nf);

/* dirblock.c: entries added and removed in one directory block */
#define NGFS_DIRBLOCK_FULL EXT2_ET_DIR_NO_SPACE		/* the last block has no room */
#define NGFS_DIRBLOCK_PASS EXT2_ET_OP_NOT_SUPPORTED	/* not done: leave it to libext2fs */
typedef int (*ngfs_dirblock_fn)(const char *name, size_t len, ext2_ino_t ino, blk64_t lblk,
				void *priv);
int ngfs_dirblock_walk(struct ngfs *nf, ext2_ino_t dir, ngfs_dirblock_fn fn, void *priv);
errcode_t ngfs_dirblock_append(struct ngfs *nf, ext2_ino_t dir, const char *name,
			       ext2_ino_t ino, int type, blk64_t *lblk);
errcode_t ngfs_dirblock_remove(struct ngfs *nf, ext2_ino_t dir, blk64_t lblk,
			       const char *name, ext2_ino_t ino);

/* namei.c: directory entries */
struct ngfs_dirent_info {
	ext2_ino_t ino;
	int type;		/* EXT2_FT_* */
};
int ngfs_lookup(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t *ino);
int ngfs_lookup_live(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t *ino,
		     struct ext2_inode_large *inode);
int ngfs_entry_live(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t *ino,
		    struct ext2_inode_large *inode);
int ngfs_link(struct ngfs *nf, ext2_ino_t ino, ext2_ino_t dir, const char *name);
int ngfs_unlink(struct ngfs *nf, ext2_ino_t dir, const char *name, int rmdir);
struct ngfs_creds;
int ngfs_rename(struct ngfs *nf, ext2_ino_t sdir, const char *sname,
		ext2_ino_t ddir, const char *dname, unsigned int flags,
		const struct ngfs_creds *cr);
int ngfs_dir_add(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino,
		 mode_t mode);
typedef errcode_t (*ngfs_insert_fn)(ext2_filsys fs, void *arg);
int ngfs_dir_insert(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino,
		    ngfs_insert_fn add, void *arg, const char *op);
int ngfs_dir_touch(struct ngfs *nf, ext2_ino_t dir);
int ngfs_check_name(const char *name);
typedef int (*ngfs_dir_fn)(const char *name, size_t len, ext2_ino_t ino, int type,
			   void *priv);
int ngfs_dir_list(struct ngfs *nf, ext2_ino_t dir, ngfs_dir_fn fn, void *priv);
int ngfs_readlink(struct ngfs *nf, ext2_ino_t ino, char *buf, size_t len);

/* create.c: new inodes */
int ngfs_init_extents(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode);
struct ngfs_creds {
	uid_t uid;
	gid_t gid;
	mode_t umask;
	int (*in_group)(void *ctx, gid_t gid);	/* caller is member of gid */
	void *ctx;
};
int ngfs_create(struct ngfs *nf, ext2_ino_t dir, const char *name, mode_t mode,
		dev_t rdev, const char *target, const struct ngfs_creds *cr,
		ext2_ino_t *ino);
enum ngfs_unnamed { NGFS_TMPFILE = 1, NGFS_WHITEOUT };
int ngfs_create_unnamed(struct ngfs *nf, ext2_ino_t dir, enum ngfs_unnamed what,
			mode_t mode, const struct ngfs_creds *cr, ext2_ino_t *ino);

/* xattr.c */
/* ngfs_setxattr flag beside XATTR_CREATE/REPLACE: setting the access ACL
   also clears set-group-ID (the caller is outside the group, not CAP_FSETID) */
#define NGFS_XATTR_KILL_SGID	(1 << 30)
int ngfs_getxattr(struct ngfs *nf, ext2_ino_t ino, const char *name,
		  void **value, size_t *len);
int ngfs_setxattr(struct ngfs *nf, ext2_ino_t ino, const char *name,
		  const void *value, size_t len, int flags);
int ngfs_removexattr(struct ngfs *nf, ext2_ino_t ino, const char *name);
int ngfs_listxattr(struct ngfs *nf, ext2_ino_t ino, char **list, size_t *len);
int ngfs_xattr_raw_set(struct ngfs *nf, ext2_ino_t ino, const char *name,
		       const void *value, size_t len);
int ngfs_xattr_raw_get(struct ngfs *nf, ext2_ino_t ino, const char *name,
		       void **value, size_t *len);
int ngfs_xattr_raw_remove(struct ngfs *nf, ext2_ino_t ino, const char *name);

/* acl.c: POSIX ACL semantics the kernel leaves to the filesystem */
#define NGFS_ACL_ACCESS "system.posix_acl_access"
#define NGFS_ACL_DEFAULT "system.posix_acl_default"
int ngfs_acl_inherit(struct ngfs *nf, ext2_ino_t dir, ext2_ino_t ino, mode_t *mode,
		     int *applied);
int ngfs_acl_chmod(struct ngfs *nf, ext2_ino_t ino, mode_t mode);
int ngfs_acl_mode_from_xattr(const void *value, size_t len, mode_t *mode,
			     int *equivalent);

/* validate.c: checks before a change, checks on what allocators hand out */
int ngfs_validate_blocks(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			 const char *op);
int ngfs_validate_xattr_block(struct ngfs *nf, ext2_ino_t ino,
			      struct ext2_inode_large *inode, const char *op);
int ngfs_validate_freeable(struct ngfs *nf, ext2_ino_t ino, const char *op);
int ngfs_new_inode(struct ngfs *nf, ext2_ino_t dir, mode_t mode, ext2_ino_t *out);
void ngfs_inode_group_fixup(struct ngfs *nf, ext2_ino_t ino);

/* claims.c: the bitmaps against what the inodes claim, at a rw mount */
void ngfs_claims_scan(struct ngfs *nf);
int ngfs_claims_shared(struct ngfs *nf, blk64_t start, blk64_t len);
void ngfs_claims_free(struct ngfs *nf);
int ngfs_claims_phantom(struct ngfs *nf, blk64_t start, blk64_t len);
void ngfs_claims_phantom_marks(struct ngfs *nf, int on);
int ngfs_claims_phantom_inode(struct ngfs *nf, ext2_ino_t ino);
int ngfs_claims_is_phantom_inode(struct ngfs *nf, ext2_ino_t ino);
const char *ngfs_layout_blocker(struct ngfs *nf, char *buf, size_t len);

/* fmap.c: file range -> device range; shared with the iomap work */
const char *ngfs_bad_range(struct ngfs *nf, blk64_t pblk, blk64_t len);
size_t ngfs_metamap_count(struct ngfs *nf);
void ngfs_metamap_range(struct ngfs *nf, size_t i, blk64_t *start, blk64_t *len);
enum ngfs_map_type { NGFS_MAP_HOLE, NGFS_MAP_MAPPED, NGFS_MAP_UNWRITTEN };
struct ngfs_map {
	blk64_t lblk;		/* first logical block */
	blk64_t pblk;		/* first physical block (MAPPED, UNWRITTEN) */
	blk64_t len;		/* blocks */
	enum ngfs_map_type type;
};
int ngfs_fmap_init(struct ngfs *nf);
void ngfs_fmap_free(struct ngfs *nf);
int ngfs_fmap_get(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		  blk64_t lblk, blk64_t maxlen, struct ngfs_map *map);
int ngfs_fmap_alloc(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		    blk64_t lblk, blk64_t len, int unwritten);
int ngfs_fmap_mark_written(struct ngfs *nf, ext2_ino_t ino,
			   struct ext2_inode_large *inode, blk64_t lblk, blk64_t len);
int ngfs_fmap_punch(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		    blk64_t lblk, blk64_t len);

/* split.c */
#define NGFS_SIZE_KEEP UINT64_MAX
/*
 * Free every block of INO from LBLK on (a truncate to SIZE, or
 * NGFS_SIZE_KEEP; a free).  More than one journal transaction can carry
 * is committed in parts, with INO on the orphan list from the first part.
 */
int ngfs_punch_tail(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		    blk64_t lblk, uint64_t size);

/* data.c: file contents (map, then pread/pwrite on the device) */
int ngfs_read(struct ngfs *nf, ext2_ino_t ino, char *buf, size_t len, off_t off,
	      size_t *done);
int ngfs_write(struct ngfs *nf, ext2_ino_t ino, const char *buf, size_t len,
	       off_t off, int append, size_t *done);
/*
 * Reads, and writes over blocks holding data, move their bytes without the
 * lock: *_start (locked) maps, ngfs_io_transfer (unlocked) moves,
 * ngfs_io_finish (locked) ends.  nseg 0 after start: done already.
 */
struct ngfs_seg {
	uint64_t dev;		/* device offset */
	size_t pos, len;	/* within the caller's buffer */
	int zero;		/* a hole or unwritten: reads as zeros */
};
struct ngfs_io {
	ext2_ino_t ino;
	int write, entered;
	int direct;		/* an O_DIRECT read: bypass the device's page cache too */
	struct ngfs_seg *seg;
	size_t nseg, cap;
	size_t len, done;
};
int ngfs_read_start(struct ngfs *nf, ext2_ino_t ino, char *buf, size_t len, off_t off,
		    struct ngfs_io *io);
int ngfs_write_start(struct ngfs *nf, ext2_ino_t ino, const char *buf, size_t len,
		     off_t off, int append, struct ngfs_io *io);
int ngfs_io_transfer(struct ngfs *nf, struct ngfs_io *io, char *rbuf, const char *wbuf);
int ngfs_io_finish(struct ngfs *nf, struct ngfs_io *io, int err);
/* inflight.c: inodes whose data moves outside the lock */
int ngfs_io_enter(struct ngfs *nf, ext2_ino_t ino);
void ngfs_io_leave(struct ngfs *nf, ext2_ino_t ino);
int ngfs_io_drain(struct ngfs *nf, ext2_ino_t ino);	/* 1: waited, the lock was released */
void ngfs_io_free(struct ngfs *nf);
int ngfs_truncate(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		  uint64_t size);
int ngfs_fallocate(struct ngfs *nf, ext2_ino_t ino, int mode, off_t off, off_t len);
int ngfs_seek(struct ngfs *nf, ext2_ino_t ino, off_t off, int whence, off_t *res);
int ngfs_copy_range(struct ngfs *nf, ext2_ino_t in, off_t off_in, ext2_ino_t out,
		    off_t off_out, size_t len, size_t *done);
int ngfs_bmap(struct ngfs *nf, ext2_ino_t ino, uint64_t lblk, uint64_t *pblk);
int ngfs_write_blocks(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		      const char *buf, size_t len, off_t off, size_t *done);
int ngfs_is_inline(struct ngfs *nf, ext2_ino_t ino);

/* inline.c: contents kept in the inode (i_block + the system.data xattr) */
int ngfs_inline_read(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		     char *buf, size_t len, off_t off, size_t *done);
int ngfs_inline_write(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		      const char *buf, size_t len, off_t off, size_t *done);
int ngfs_inline_truncate(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			 uint64_t size);
int ngfs_inline_expand(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode);

/* iomap.c: mappings for a kernel that moves file data itself */
enum ngfs_iomap_type {
	NGFS_IOMAP_HOLE,
	NGFS_IOMAP_MAPPED,
	NGFS_IOMAP_UNWRITTEN,
	NGFS_IOMAP_INLINE,	/* bytes in the inode: FUSE_READ/FUSE_WRITE */
};
struct ngfs_iomap {
	uint64_t offset, length;	/* file bytes, block aligned */
	uint64_t addr;			/* device byte (MAPPED, UNWRITTEN) */
	enum ngfs_iomap_type type;
	unsigned int flags;		/* NGFS_IOMAP_NEW */
};
#define NGFS_IOMAP_NEW		1	/* blocks allocated by this request */
/* begin: what the request will do */
#define NGFS_IOMAP_WRITE	1	/* changes data: holes get allocated */
#define NGFS_IOMAP_ZERO_ONLY	2	/* zeroing: holes and unwritten may stay */
#define NGFS_IOMAP_REPORT	4	/* FIEMAP, SEEK_DATA/HOLE: any inode type */
#define NGFS_IOMAP_BLOCKS	8	/* writeback, page fault, O_DIRECT: no INLINE */
/* ioend flags */
#define NGFS_IOEND_UNWRITTEN	1
#define NGFS_IOEND_APPEND	2
#define NGFS_IOEND_SHARED	4
struct ngfs_geometry {
	uint32_t blocksize, max_links, time_gran;
	int64_t time_min, time_max;
	uint64_t max_bytes;
	uint8_t uuid[16];
	char name[32];
};
int ngfs_iomap_begin(struct ngfs *nf, ext2_ino_t ino, uint64_t pos, uint64_t count,
		     unsigned int op, struct ngfs_iomap *m);
int ngfs_iomap_end(struct ngfs *nf, ext2_ino_t ino, uint64_t pos, uint64_t count,
		   int64_t written, int size_changed);
int ngfs_iomap_ioend(struct ngfs *nf, ext2_ino_t ino, uint64_t pos, uint32_t written,
		     unsigned int flags, int io_error);
void ngfs_iomap_geometry(struct ngfs *nf, struct ngfs_geometry *g);
/* Does the kernel hold INO as a regular file (the only inodes with a mapping cache)? */
int ngfs_iomap_cached_file(struct ngfs *nf, ext2_ino_t ino);

/* control.c: ioctls */
int ngfs_get_flags(struct ngfs *nf, ext2_ino_t ino, uint32_t *flags);
int ngfs_set_flags(struct ngfs *nf, ext2_ino_t ino, uint32_t flags);
struct fsxattr;
int ngfs_get_fsxattr(struct ngfs *nf, ext2_ino_t ino, struct fsxattr *fa);
int ngfs_set_fsxattr(struct ngfs *nf, ext2_ino_t ino, const struct fsxattr *fa);
int ngfs_get_version(struct ngfs *nf, ext2_ino_t ino, uint32_t *gen);
int ngfs_trim(struct ngfs *nf, uint64_t start, uint64_t len, uint64_t minlen,
	      uint64_t *trimmed);
int ngfs_shutdown(struct ngfs *nf);

#endif
