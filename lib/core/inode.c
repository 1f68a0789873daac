/*
 * inode.c: reading and writing inodes, and the attribute conventions of
 * ext4 (32-bit ids split in two, nanosecond timestamps with epoch bits).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysmacros.h>

#include "core/ngfs.h"

/* Does the large-inode field at byte offset OFF..OFF+SIZE exist in INODE? */
#define HAS_FIELD(inode, field)                                                     \
	((inode)->i_extra_isize >= offsetof(struct ext2_inode_large, field) +          \
	 sizeof((inode)->field) - EXT2_GOOD_OLD_INODE_SIZE)

int ngfs_valid_ino(struct ngfs *nf, ext2_ino_t ino)
{
	return ino == EXT2_ROOT_INO ||
	       (ino >= EXT2_FIRST_INO(nf->fs->super) && ino <= nf->fs->super->s_inodes_count);
}

int ngfs_read_inode(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	unsigned int size = EXT2_INODE_SIZE(nf->fs->super);
	errcode_t err;

	if (!ngfs_valid_ino(nf, ino))
		return ngfs_corrupt(nf, "read_inode", ino, "inode number out of range");
	memset(inode, 0, sizeof(*inode));
	if (size > sizeof(*inode))
		size = sizeof(*inode);
	err = ext2fs_read_inode_full(nf->fs, ino, (struct ext2_inode *)inode, size);
	if (err)
		return ngfs_errno(nf, err, "read_inode", ino);
	if (size <= EXT2_GOOD_OLD_INODE_SIZE)
		inode->i_extra_isize = 0;
	else if (inode->i_extra_isize > size - EXT2_GOOD_OLD_INODE_SIZE ||
		 (inode->i_extra_isize & 3))
		return ngfs_corrupt(nf, "read_inode", ino, "bad i_extra_isize");
	/* What the kernel's ext4_iget refuses (and FUSE would mark bad). */
	if ((int64_t)EXT2_I_SIZE(inode) < 0)
		return ngfs_corrupt(nf, "read_inode", ino, "bad i_size");
	if (inode->i_links_count || inode->i_mode) {
		switch (inode->i_mode & LINUX_S_IFMT) {
		case LINUX_S_IFREG: case LINUX_S_IFDIR: case LINUX_S_IFLNK: case LINUX_S_IFCHR:
		case LINUX_S_IFBLK: case LINUX_S_IFIFO: case LINUX_S_IFSOCK:
			break;
		default:
			return ngfs_corrupt(nf, "read_inode", ino, "bad file type in i_mode");
		}
	}
	return 0;
}

int ngfs_write_inode(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	unsigned int size = EXT2_INODE_SIZE(nf->fs->super);
	errcode_t err;

	if (size > sizeof(*inode))
		size = sizeof(*inode);
	err = ext2fs_write_inode_full(nf->fs, ino, (struct ext2_inode *)inode, size);
	return ngfs_errno(nf, err, "write_inode", ino);
}

uid_t ngfs_inode_uid(const struct ext2_inode_large *inode)
{
	return inode->i_uid | ((uid_t)inode->osd2.linux2.l_i_uid_high << 16);
}

gid_t ngfs_inode_gid(const struct ext2_inode_large *inode)
{
	return inode->i_gid | ((gid_t)inode->osd2.linux2.l_i_gid_high << 16);
}

void ngfs_set_owner(struct ext2_inode_large *inode, uid_t uid, gid_t gid)
{
	if (uid != (uid_t)-1) {
		inode->i_uid = uid & 0xffff;
		inode->osd2.linux2.l_i_uid_high = uid >> 16;
	}
	if (gid != (gid_t)-1) {
		inode->i_gid = gid & 0xffff;
		inode->osd2.linux2.l_i_gid_high = gid >> 16;
	}
}

uint64_t ngfs_inode_size(const struct ext2_inode_large *inode)
{
	return EXT2_I_SIZE(inode);
}

int ngfs_set_size(struct ngfs *nf, struct ext2_inode_large *inode, uint64_t size)
{
	errcode_t err = ext2fs_inode_size_set(nf->fs, (struct ext2_inode *)inode, size);

	if (err)
		return ngfs_errno(nf, err, "set_size", 0);
	return 0;
}

/* iomap mode: the kernel keeps coarse timestamps; ours must not run ahead. */
static clockid_t now_clock = CLOCK_REALTIME;

void ngfs_coarse_clock(int on)
{
	now_clock = on ? CLOCK_REALTIME_COARSE : CLOCK_REALTIME;
}

void ngfs_now(struct timespec *ts)
{
	clock_gettime(now_clock, ts);
}

/*
 * ext4 timestamps: a signed 32-bit seconds field plus, in large inodes, an
 * "extra" word holding two epoch bits (adding multiples of 2^32 seconds) and
 * 30 bits of nanoseconds.
 */
static void decode_time(uint32_t lo, const uint32_t *extra, struct timespec *ts)
{
	ts->tv_sec = (int32_t)lo;
	ts->tv_nsec = 0;
	if (extra) {
		ts->tv_sec += (int64_t)(*extra & 3) << 32;
		ts->tv_nsec = *extra >> 2;
	}
}

static void encode_time(const struct timespec *ts, uint32_t *lo, uint32_t *extra)
{
	int64_t sec = ts->tv_sec;
	const int64_t min = INT32_MIN;
	const int64_t max = extra ? (int64_t)INT32_MAX + (3LL << 32) : INT32_MAX;

	long nsec = ts->tv_nsec;

	/* Out of range: clamp, and like the kernel drop the nanoseconds. */
	if (sec < min || sec > max) {
		sec = sec < min ? min : max;
		nsec = 0;
	}
	*lo = (uint32_t)sec;
	if (extra)
		*extra = (((sec - (int32_t)sec) >> 32) & 3) | ((uint32_t)nsec << 2);
}

void ngfs_get_time(const struct ext2_inode_large *inode, enum ngfs_time which,
		   struct timespec *ts)
{
	switch (which) {
	case NGFS_ATIME:
		decode_time(inode->i_atime, HAS_FIELD(inode, i_atime_extra) ?
			    &inode->i_atime_extra : NULL, ts);
		break;
	case NGFS_MTIME:
		decode_time(inode->i_mtime, HAS_FIELD(inode, i_mtime_extra) ?
			    &inode->i_mtime_extra : NULL, ts);
		break;
	case NGFS_CTIME:
		decode_time(inode->i_ctime, HAS_FIELD(inode, i_ctime_extra) ?
			    &inode->i_ctime_extra : NULL, ts);
		break;
	case NGFS_CRTIME:
		if (HAS_FIELD(inode, i_crtime))
			decode_time(inode->i_crtime, HAS_FIELD(inode, i_crtime_extra) ?
				    &inode->i_crtime_extra : NULL, ts);
		else
			ts->tv_sec = ts->tv_nsec = 0;
		break;
	}
}

void ngfs_set_time(struct ngfs *nf, struct ext2_inode_large *inode,
		   enum ngfs_time which, const struct timespec *ts)
{
	switch (which) {
	case NGFS_ATIME:
		encode_time(ts, &inode->i_atime, HAS_FIELD(inode, i_atime_extra) ?
			    &inode->i_atime_extra : NULL);
		break;
	case NGFS_MTIME:
		encode_time(ts, &inode->i_mtime, HAS_FIELD(inode, i_mtime_extra) ?
			    &inode->i_mtime_extra : NULL);
		break;
	case NGFS_CTIME:
		encode_time(ts, &inode->i_ctime, HAS_FIELD(inode, i_ctime_extra) ?
			    &inode->i_ctime_extra : NULL);
		break;
	case NGFS_CRTIME:
		if (HAS_FIELD(inode, i_crtime))
			encode_time(ts, &inode->i_crtime, HAS_FIELD(inode, i_crtime_extra) ?
				    &inode->i_crtime_extra : NULL);
		break;
	}
}

/* Content change (mtime and ctime) or attribute change (ctime only). */
void ngfs_touch(struct ngfs *nf, struct ext2_inode_large *inode, int mtime)
{
	struct timespec now;

	ngfs_now(&now);
	ngfs_set_time(nf, inode, NGFS_CTIME, &now);
	if (mtime)
		ngfs_set_time(nf, inode, NGFS_MTIME, &now);
}

static int tscmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	return a->tv_nsec < b->tv_nsec ? -1 : a->tv_nsec > b->tv_nsec;
}

/*
 * Would reading INODE now move its atime?  The kernel's touch_atime rules
 * for an ext4 mount with the same options (noatime, nodiratime, relatime:
 * only when atime is not after mtime or ctime, or is a day old).  In FUSE
 * this is the server's job: the kernel marks its inodes S_NOATIME and only
 * drops its cached atime after a read that reached us.
 */
int ngfs_atime_due(struct ngfs *nf, const struct ext2_inode_large *inode,
		   const struct timespec *now)
{
	struct timespec at, mt, ct;

	if (nf->readonly || nf->opts.atime == NGFS_ATIME_NEVER ||
	    (inode->i_flags & EXT2_NOATIME_FL) ||
	    (nf->opts.nodiratime && LINUX_S_ISDIR(inode->i_mode)))
		return 0;
	ngfs_get_time(inode, NGFS_ATIME, &at);
	if (nf->opts.atime == NGFS_ATIME_RELATIME) {
		ngfs_get_time(inode, NGFS_MTIME, &mt);
		ngfs_get_time(inode, NGFS_CTIME, &ct);
		if (tscmp(&mt, &at) < 0 && tscmp(&ct, &at) < 0 &&
		    now->tv_sec - at.tv_sec < 24 * 60 * 60)
			return 0;
	}
	return tscmp(&at, now) != 0;
}

/* INODE was read (file data, a directory listing): move atime if due. */
int ngfs_accessed(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	struct timespec now;

	ngfs_now(&now);
	if (!ngfs_atime_due(nf, inode, &now))
		return 0;
	ngfs_set_time(nf, inode, NGFS_ATIME, &now);
	return ngfs_write_inode(nf, ino, inode);
}

int ngfs_dir_accessed(struct ngfs *nf, ext2_ino_t dir)
{
	struct ext2_inode_large inode;
	int err;

	if (nf->readonly || nf->opts.atime == NGFS_ATIME_NEVER || nf->opts.nodiratime)
		return 0;
	if ((err = ngfs_read_inode(nf, dir, &inode)))
		return err;
	return ngfs_accessed(nf, dir, &inode);
}

static dev_t inode_rdev(const struct ext2_inode_large *inode)
{
	uint32_t old = inode->i_block[0], new = inode->i_block[1];

	if (old)	/* old 16-bit encoding: major 8 bits, minor 8 bits */
		return makedev((old >> 8) & 255, old & 255);
	/* new encoding, as in the kernel's new_encode_dev() */
	return makedev((new & 0xfff00) >> 8, (new & 0xff) | ((new >> 12) & 0xfff00));
}

void ngfs_inode_stat(struct ngfs *nf, ext2_ino_t ino,
		     const struct ext2_inode_large *inode, struct stat *st)
{
	struct timespec ts;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = inode->i_mode;
	st->st_nlink = inode->i_links_count;
	st->st_uid = ngfs_inode_uid(inode);
	st->st_gid = ngfs_inode_gid(inode);
	st->st_size = EXT2_I_SIZE(inode);
	st->st_blksize = nf->fs->blocksize;
	st->st_blocks = ext2fs_get_stat_i_blocks(nf->fs, (struct ext2_inode *)inode);
	if (LINUX_S_ISCHR(inode->i_mode) || LINUX_S_ISBLK(inode->i_mode))
		st->st_rdev = inode_rdev(inode);
	ngfs_get_time(inode, NGFS_ATIME, &ts);
	st->st_atim = ts;
	ngfs_get_time(inode, NGFS_MTIME, &ts);
	st->st_mtim = ts;
	ngfs_get_time(inode, NGFS_CTIME, &ts);
	st->st_ctim = ts;
}

int ngfs_getattr(struct ngfs *nf, ext2_ino_t ino, struct stat *st)
{
	struct ext2_inode_large inode;
	int err = ngfs_check_alive(nf);

	if (!err)
		err = ngfs_read_inode(nf, ino, &inode);
	if (err)
		return err;
	ngfs_inode_stat(nf, ino, &inode, st);
	return 0;
}

/* A fresh in-core inode: type and mode, owner, all four timestamps now. */
void ngfs_init_inode(struct ngfs *nf, struct ext2_inode_large *inode, mode_t mode,
		     uid_t uid, gid_t gid)
{
	unsigned int size = EXT2_INODE_SIZE(nf->fs->super);

	memset(inode, 0, sizeof(*inode));
	inode->i_mode = mode;
	ngfs_set_owner(inode, uid, gid);
	if (size > EXT2_GOOD_OLD_INODE_SIZE) {
		unsigned int want = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
		if (want > size - EXT2_GOOD_OLD_INODE_SIZE)
			want = size - EXT2_GOOD_OLD_INODE_SIZE;
		if (nf->fs->super->s_want_extra_isize &&
		    nf->fs->super->s_want_extra_isize < want)
			want = nf->fs->super->s_want_extra_isize;
		inode->i_extra_isize = want;
	}
	inode->i_generation = ngfs_new_generation();
	ngfs_stamp_new(nf, inode);
}

/*
 * The generation of a new inode, random as kernel ext4 makes it: a file
 * handle names (inode number, generation), so a handle of a deleted file
 * does not open whatever later reuses its inode number (ESTALE instead).
 */
uint32_t ngfs_new_generation(void)
{
	static uint32_t fallback;
	uint32_t gen;

	if (getrandom(&gen, sizeof(gen), GRND_NONBLOCK) != sizeof(gen))
		gen = (uint32_t)time(NULL) * 2654435761u + ++fallback;
	return gen;
}

/* A new inode: access, change, modification and birth times are now. */
void ngfs_stamp_new(struct ngfs *nf, struct ext2_inode_large *inode)
{
	struct timespec now;

	ngfs_now(&now);
	ngfs_set_time(nf, inode, NGFS_ATIME, &now);
	ngfs_set_time(nf, inode, NGFS_MTIME, &now);
	ngfs_set_time(nf, inode, NGFS_CTIME, &now);
	ngfs_set_time(nf, inode, NGFS_CRTIME, &now);
}

/* statx: stat plus the birth time and the inode flags statx reports. */
int ngfs_statx(struct ngfs *nf, ext2_ino_t ino, struct ngfs_statx *sx)
{
	struct ext2_inode_large inode;
	int err;

	memset(sx, 0, sizeof(*sx));
	if ((err = ngfs_check_alive(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	ngfs_inode_stat(nf, ino, &inode, &sx->st);
	sx->has_btime = HAS_FIELD(&inode, i_crtime);
	if (sx->has_btime)
		ngfs_get_time(&inode, NGFS_CRTIME, &sx->btime);
	sx->attributes_mask = STATX_ATTR_COMPRESSED | STATX_ATTR_IMMUTABLE |
			      STATX_ATTR_APPEND | STATX_ATTR_NODUMP;
	if (inode.i_flags & EXT2_COMPR_FL)
		sx->attributes |= STATX_ATTR_COMPRESSED;
	if (inode.i_flags & EXT2_IMMUTABLE_FL)
		sx->attributes |= STATX_ATTR_IMMUTABLE;
	if (inode.i_flags & EXT2_APPEND_FL)
		sx->attributes |= STATX_ATTR_APPEND;
	if (inode.i_flags & EXT2_NODUMP_FL)
		sx->attributes |= STATX_ATTR_NODUMP;
	return 0;
}
