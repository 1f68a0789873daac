/*
 * control.c: the ioctls: inode flags (chattr), fsxattr, generation, FITRIM
 * and EXT4_IOC_SHUTDOWN.  Permission (owner, CAP_LINUX_IMMUTABLE) is checked
 * by the kernel's VFS before the request reaches us.
 */
#include <errno.h>
#include <string.h>
#include <linux/fs.h>

#include "core/ngfs.h"

/* Flags a user can see and change, as in ext4 (EXT4_FL_USER_*). */
#define FL_USER_VISIBLE 0x705BDFFF
#define FL_USER_MODIFIABLE (FS_SECRM_FL | FS_UNRM_FL | FS_COMPR_FL | FS_SYNC_FL | \
			    FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | FS_NOATIME_FL | \
			    FS_JOURNAL_DATA_FL | FS_NOTAIL_FL | FS_DIRSYNC_FL | FS_TOPDIR_FL | \
			    FS_PROJINHERIT_FL)

int ngfs_get_flags(struct ngfs *nf, ext2_ino_t ino, uint32_t *flags)
{
	struct ext2_inode_large inode;
	int err;

	if ((err = ngfs_check_alive(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	*flags = inode.i_flags & FL_USER_VISIBLE;
	return 0;
}

int ngfs_set_flags(struct ngfs *nf, ext2_ino_t ino, uint32_t flags)
{
	struct ext2_inode_large inode;
	uint32_t changed;
	int err;

	if ((err = ngfs_check_writable(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	changed = (inode.i_flags ^ flags) & FL_USER_VISIBLE;
	/* Setting the extent flag on an extent file is a no-op; the rest we cannot do. */
	if (changed & ~FL_USER_MODIFIABLE)
		return EOPNOTSUPP;
	/* Only the flags themselves may change on an immutable or append-only inode. */
	inode.i_flags = (inode.i_flags & ~FL_USER_MODIFIABLE) | (flags & FL_USER_MODIFIABLE);
	ngfs_touch(nf, &inode, 0);
	nf->dirty = 1;
	return ngfs_write_inode(nf, ino, &inode);
}

static uint32_t flags_to_xflags(uint32_t flags)
{
	uint32_t x = 0;

	if (flags & FS_SYNC_FL)
		x |= FS_XFLAG_SYNC;
	if (flags & FS_IMMUTABLE_FL)
		x |= FS_XFLAG_IMMUTABLE;
	if (flags & FS_APPEND_FL)
		x |= FS_XFLAG_APPEND;
	if (flags & FS_NODUMP_FL)
		x |= FS_XFLAG_NODUMP;
	if (flags & FS_NOATIME_FL)
		x |= FS_XFLAG_NOATIME;
	if (flags & FS_PROJINHERIT_FL)
		x |= FS_XFLAG_PROJINHERIT;
	return x;
}

static uint32_t xflags_to_flags(uint32_t x)
{
	uint32_t f = 0;

	if (x & FS_XFLAG_SYNC)
		f |= FS_SYNC_FL;
	if (x & FS_XFLAG_IMMUTABLE)
		f |= FS_IMMUTABLE_FL;
	if (x & FS_XFLAG_APPEND)
		f |= FS_APPEND_FL;
	if (x & FS_XFLAG_NODUMP)
		f |= FS_NODUMP_FL;
	if (x & FS_XFLAG_NOATIME)
		f |= FS_NOATIME_FL;
	if (x & FS_XFLAG_PROJINHERIT)
		f |= FS_PROJINHERIT_FL;
	return f;
}

#define XFLAGS_MAPPED (FS_XFLAG_SYNC | FS_XFLAG_IMMUTABLE | FS_XFLAG_APPEND | \
		       FS_XFLAG_NODUMP | FS_XFLAG_NOATIME | FS_XFLAG_PROJINHERIT)

int ngfs_get_fsxattr(struct ngfs *nf, ext2_ino_t ino, struct fsxattr *fa)
{
	struct ext2_inode_large inode;
	int err;

	if ((err = ngfs_check_alive(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	memset(fa, 0, sizeof(*fa));
	fa->fsx_xflags = flags_to_xflags(inode.i_flags);
	if (ext2fs_has_feature_project(nf->fs->super) &&
	    inode.i_extra_isize >= 32)
		fa->fsx_projid = inode.i_projid;
	return 0;
}

int ngfs_set_fsxattr(struct ngfs *nf, ext2_ino_t ino, const struct fsxattr *fa)
{
	struct ext2_inode_large inode;
	uint32_t projid = 0;
	int err;

	if ((err = ngfs_check_writable(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (fa->fsx_xflags & ~XFLAGS_MAPPED)
		return EOPNOTSUPP;
	if (ext2fs_has_feature_project(nf->fs->super) && inode.i_extra_isize >= 32)
		projid = inode.i_projid;
	if (fa->fsx_projid != projid)
		return EOPNOTSUPP;
	return ngfs_set_flags(nf, ino, (inode.i_flags & ~xflags_to_flags(XFLAGS_MAPPED)) |
				      xflags_to_flags(fa->fsx_xflags));
}

int ngfs_get_version(struct ngfs *nf, ext2_ino_t ino, uint32_t *gen)
{
	struct ext2_inode_large inode;
	int err;

	if ((err = ngfs_check_alive(nf)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	*gen = inode.i_generation;
	return 0;
}

/* FITRIM: discard free extents of at least MINLEN bytes in [start, start+len). */
int ngfs_trim(struct ngfs *nf, uint64_t start, uint64_t len, uint64_t minlen,
	      uint64_t *trimmed)
{
	ext2_filsys fs = nf->fs;
	uint64_t bs = fs->blocksize;
	blk64_t first = start / bs, last, blk, minblks = (minlen + bs - 1) / bs;
	int err;

	*trimmed = 0;
	if ((err = ngfs_check_writable(nf)))
		return err;
	/* Make sure blocks freed a moment ago are free on disk before discarding. */
	if ((err = ngfs_flush(nf, 1)))
		return err;
	if (!fs->block_map)
		return EROFS;
	if (first < fs->super->s_first_data_block)
		first = fs->super->s_first_data_block;
	last = (len / bs > ext2fs_blocks_count(fs->super) - first) ?
	       ext2fs_blocks_count(fs->super) : first + len / bs;
	if (first >= ext2fs_blocks_count(fs->super))
		return EINVAL;
	if (!minblks)
		minblks = 1;
	for (blk = first; blk < last;) {
		blk64_t free_start, used;
		if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, blk, last - 1, &free_start))
			break;
		if (ext2fs_find_first_set_block_bitmap2(fs->block_map, free_start, last - 1, &used))
			used = last;
		if (used - free_start >= minblks) {
			errcode_t e = io_channel_discard(fs->io, free_start, used - free_start);
			if (e == EXT2_ET_UNIMPLEMENTED)
				return EOPNOTSUPP;	/* the device cannot discard */
			if (e)
				return ngfs_errno(nf, e, "fitrim", 0);
			*trimmed += (used - free_start) * bs;
		}
		blk = used;
	}
	return 0;
}

/* Flush everything, then refuse all further I/O (the kernel's "going down"). */
int ngfs_shutdown(struct ngfs *nf)
{
	int err = 0;

	if (nf->shutdown)
		return 0;
	if (!nf->readonly)
		err = ngfs_flush(nf, 1);
	nf->shutdown = 1;
	ngfs_log("%s: shut down by EXT4_IOC_SHUTDOWN", nf->device);
	return err;
}
