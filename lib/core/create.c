/*
 * create.c: new inodes of every type.  Ownership, set-group-ID inheritance,
 * umask and default ACLs are applied here because FUSE leaves them to the
 * filesystem (we ask the kernel not to apply the umask itself).
 */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "core/ngfs.h"

/* Flags a new inode takes from its directory (the kernel's EXT4_FL_INHERITED). */
#define FL_INHERITED (EXT2_SECRM_FL | EXT2_UNRM_FL | EXT2_COMPR_FL | EXT2_SYNC_FL | \
		      EXT2_NODUMP_FL | EXT2_NOATIME_FL | EXT2_NOCOMPR_FL | \
		      EXT3_JOURNAL_DATA_FL | EXT2_NOTAIL_FL | EXT2_DIRSYNC_FL)

static uint32_t inherited_flags(const struct ext2_inode_large *dir, mode_t mode)
{
	uint32_t flags = dir->i_flags & FL_INHERITED;

	if (S_ISDIR(mode))
		return flags;
	if (S_ISREG(mode))
		return flags & ~EXT2_DIRSYNC_FL;
	return flags & (EXT2_NODUMP_FL | EXT2_NOATIME_FL);
}

int ngfs_init_extents(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	ext2_extent_handle_t handle;
	errcode_t err;

	inode->i_flags |= EXT4_EXTENTS_FL;
	/* Opening an extent handle on an empty inode writes the tree header. */
	err = ext2fs_extent_open2(nf->fs, ino, (struct ext2_inode *)inode, &handle);
	if (err)
		return ngfs_errno(nf, err, "create", ino);
	ext2fs_extent_free(handle);
	return 0;
}

static void encode_rdev(struct ext2_inode_large *inode, dev_t rdev)
{
	unsigned int maj = major(rdev), min = minor(rdev);

	if (maj < 256 && min < 256) {
		inode->i_block[0] = (maj << 8) | min;
	} else {
		inode->i_block[0] = 0;
		inode->i_block[1] = (min & 0xff) | (maj << 8) | ((min & ~0xffU) << 12);
	}
}

/*
 * Regular files and special files: we build the inode ourselves.  Without
 * a NAME: an O_TMPFILE file (no links, on the orphan list) or a whiteout
 * (one link, for the caller to put in place).
 */
static int create_plain(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			mode_t mode, dev_t rdev, uid_t uid, gid_t gid, uint32_t flags,
			enum ngfs_unnamed unnamed)
{
	struct ext2_inode_large inode;
	errcode_t err;
	int ret;

	ngfs_init_inode(nf, &inode, mode, uid, gid);
	inode.i_links_count = name || unnamed == NGFS_WHITEOUT ? 1 : 0;
	inode.i_flags = flags;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		encode_rdev(&inode, rdev);
	if (S_ISREG(mode) && ext2fs_has_feature_extents(nf->fs->super) &&
	    (ret = ngfs_init_extents(nf, ino, &inode)))
		return ret;
	/*
	 * ext2fs_write_new_inode clears the on-disk slot (large inodes
	 * included) but copies only the first 128 bytes of ours: the
	 * nanoseconds and the birth time would be lost.  Write ours in full.
	 */
	err = ext2fs_write_new_inode(nf->fs, ino, (struct ext2_inode *)&inode);
	if (err)
		return ngfs_errno(nf, err, "create", ino);
	if ((ret = ngfs_write_inode(nf, ino, &inode)))
		return ret;
	ext2fs_inode_alloc_stats2(nf->fs, ino, +1, 0);
	if (name)
		ret = ngfs_dir_add(nf, dir, name, ino, mode);
	else
		ret = unnamed == NGFS_TMPFILE ? ngfs_orphan_new(nf, ino) : 0;
	if (ret) {
		ext2fs_inode_alloc_stats2(nf->fs, ino, -1, 0);
		inode.i_links_count = 0;
		inode.i_dtime = inode.i_ctime;
		ngfs_write_inode(nf, ino, &inode);
	}
	return ret;
}

struct lib_args {
	ext2_ino_t dir, ino;
	const char *name, *target;
};

static errcode_t add_dir(ext2_filsys fs, void *arg)
{
	struct lib_args *a = arg;

	return ext2fs_mkdir(fs, a->dir, a->ino, a->name);
}

static errcode_t add_symlink(ext2_filsys fs, void *arg)
{
	struct lib_args *a = arg;

	return ext2fs_symlink(fs, a->dir, a->ino, a->name, a->target);
}

/*
 * A new directory's generation.  With metadata_csum a directory block's
 * checksum covers the inode's generation, and ext2fs_mkdir wrote the first
 * block while it was 0: read the block (still valid), write the inode,
 * then the block again under the new checksum.
 */
static int write_new_dir(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	blk64_t blk = 0;
	char *buf = NULL;
	errcode_t err = 0;
	int ret;

	if (ext2fs_has_feature_metadata_csum(nf->fs->super) && !ngfs_inode_inline(inode))
		err = ext2fs_bmap2(nf->fs, ino, (struct ext2_inode *)inode, NULL, 0, 0, NULL, &blk);
	if (!err && blk && !(err = ext2fs_get_mem(nf->fs->blocksize, &buf)))
		err = ext2fs_read_dir_block4(nf->fs, blk, buf, 0, ino);
	if (err) {
		ext2fs_free_mem(&buf);
		return ngfs_errno(nf, err, "mkdir", ino);
	}
	ret = ngfs_write_inode(nf, ino, inode);
	if (!ret && blk && (err = ext2fs_write_dir_block4(nf->fs, blk, buf, 0, ino)))
		ret = ngfs_errno(nf, err, "mkdir", ino);
	ext2fs_free_mem(&buf);
	return ret;
}

/*
 * Directories and symlinks: libext2fs builds them (dot entries, inline
 * directories, fast and slow symlinks); we then set owner, mode and times.
 */
static int create_by_lib(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			 mode_t mode, const char *target, uid_t uid, gid_t gid, uint32_t flags)
{
	struct lib_args a = { dir, ino, name, target };
	struct ext2_inode_large inode;
	int ret;

	ret = ngfs_dir_insert(nf, dir, name, ino, S_ISDIR(mode) ? add_dir : add_symlink, &a,
			      S_ISDIR(mode) ? "mkdir" : "symlink");
	if (ret)
		return ret;
	if ((ret = ngfs_read_inode(nf, ino, &inode)))
		return ret;
	/*
	 * Keep the library's i_extra_isize: inline data lives in an in-inode
	 * xattr right after the extra fields, so changing it would lose it.
	 */
	inode.i_mode = mode;
	inode.i_flags |= flags;
	ngfs_set_owner(&inode, uid, gid);
	inode.i_generation = ngfs_new_generation();
	ngfs_stamp_new(nf, &inode);
	if (S_ISDIR(mode))
		return write_new_dir(nf, ino, &inode);
	return ngfs_write_inode(nf, ino, &inode);
}

/* NAME is NULL for the inodes of ngfs_create_unnamed(). */
static int create(struct ngfs *nf, ext2_ino_t dir, const char *name, mode_t mode,
		  dev_t rdev, const char *target, const struct ngfs_creds *cr,
		  enum ngfs_unnamed unnamed, ext2_ino_t *out)
{
	struct ext2_inode_large dinode;
	ext2_ino_t ino, existing;
	uid_t uid = cr->uid;
	gid_t gid = cr->gid;
	int acl_applied = 0, ret;

	if ((ret = ngfs_check_writable(nf)) || (name && (ret = ngfs_check_name(name))) ||
	    (ret = ngfs_read_inode(nf, dir, &dinode)))
		return ret;
	if (!LINUX_S_ISDIR(dinode.i_mode))
		return ENOTDIR;
	if (!dinode.i_links_count)
		return ENOENT;
	/* An append-only directory takes new names (kernel ext4 does). */
	if (dinode.i_flags & EXT2_IMMUTABLE_FL)
		return EPERM;
	if (target && strlen(target) >= nf->fs->blocksize)
		return ENAMETOOLONG;
	if (!ngfs_space_grant(nf, 2))
		return ENOSPC;
	ret = name ? ngfs_lookup(nf, dir, name, &existing) : ENOENT;
	if (!ret)
		return EEXIST;
	if (ret != ENOENT)
		return ret;
	if (S_ISDIR(mode) && dinode.i_links_count >= 65000 &&
	    !ext2fs_has_feature_dir_nlink(nf->fs->super))
		return EMLINK;

	/* Ownership: BSD group semantics in set-group-ID directories. */
	if (dinode.i_mode & S_ISGID) {
		gid = ngfs_inode_gid(&dinode);
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	if (S_ISREG(mode) && (mode & S_ISGID) && cr->uid != 0 &&
	    !(cr->in_group && cr->in_group(cr->ctx, gid)))
		mode &= ~S_ISGID;
	if (S_ISLNK(mode))
		mode = S_IFLNK | 0777;

	if ((ret = ngfs_new_inode(nf, dir, mode, &ino)))	/* checked: validate.c */
		return ret;

	/*
	 * Permissions: a default ACL on the parent replaces the umask.  In
	 * iomap mode the kernel has done both (posix_acl_create) and sends
	 * the ACLs itself after the entry reply: MODE is final.
	 */
	if (!S_ISLNK(mode) && !nf->kernel_acl) {
		if (nf->opts.acl && (ret = ngfs_acl_inherit(nf, dir, 0, &mode, &acl_applied)))
			return ret;
		if (!acl_applied)
			mode &= ~(cr->umask & 0777);
	}
	if (S_ISDIR(mode) || S_ISLNK(mode))
		ret = create_by_lib(nf, dir, name, ino, mode, target, uid, gid,
				    inherited_flags(&dinode, mode));
	else
		ret = create_plain(nf, dir, name, ino, mode, rdev, uid, gid,
				   inherited_flags(&dinode, mode), unnamed);
	if (ret)
		return ret;
	ngfs_inode_group_fixup(nf, ino);
	if (acl_applied && (ret = ngfs_acl_inherit(nf, dir, ino, &mode, &acl_applied)))
		return ret;
	/* The directory changes when the name appears (linkat, rename). */
	if (name && (ret = ngfs_dir_touch(nf, dir)))
		return ret;
	*out = ino;
	return 0;
}

int ngfs_create(struct ngfs *nf, ext2_ino_t dir, const char *name, mode_t mode,
		dev_t rdev, const char *target, const struct ngfs_creds *cr,
		ext2_ino_t *out)
{
	return create(nf, dir, name, mode, rdev, target, cr, 0, out);
}

/*
 * An inode made in DIR (owner, set-group-ID, flags, default ACL as for a
 * named one) that no directory entry names yet: an O_TMPFILE regular file,
 * or the whiteout of a rename (a 0/0 character device with mode 0, as
 * kernel ext4 makes it).
 */
int ngfs_create_unnamed(struct ngfs *nf, ext2_ino_t dir, enum ngfs_unnamed what,
			mode_t mode, const struct ngfs_creds *cr, ext2_ino_t *out)
{
	if (what == NGFS_WHITEOUT)
		mode = S_IFCHR;
	else if (!S_ISREG(mode))
		return EINVAL;
	return create(nf, dir, NULL, mode, 0, NULL, cr, what, out);
}
