/*
 * inline.c: file contents kept inside the inode (the inline_data feature):
 * the first 60 bytes in i_block, the rest in the "system.data" xattr.
 *
 * Written by hand over libext2fs' inline_data get/set calls because the
 * file API of libext2fs 1.47.0 mishandles inline files: ext2fs_file_write
 * computes a negative count for a write that starts inside the inline area
 * (a wild memcpy: the daemon crashed appending to a file made by mke2fs -d,
 * and a write at a non-zero offset came back short), ext2fs_file_set_size2
 * leaves the old bytes behind a shrink, and ext2fs_inline_data_expand
 * copies the whole inline area, not i_size bytes, into the new block.
 *
 * The invariant kept here is kernel ext4's: bytes of the inline area past
 * i_size are zero, so growing a file never brings old data back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ngfs.h"

#define INODE_INLINE_BYTES	EXT4_MIN_INLINE_DATA_SIZE	/* i_block */

/*
 * The file's bytes, zero-filled past i_size, in a buffer of at least
 * @room bytes (and at least the inline area).  Caller frees *out.
 */
static int inline_load(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		       size_t room, char **out)
{
	uint64_t size = EXT2_I_SIZE(inode);
	size_t have = 0, len;
	errcode_t err;
	char *buf;

	err = ext2fs_inline_data_size(nf->fs, ino, &have);
	if (err)
		return ngfs_errno(nf, err, "inline_data", ino);
	len = have > room ? have : room;
	if (len < INODE_INLINE_BYTES)
		len = INODE_INLINE_BYTES;
	if (!(buf = calloc(1, len + nf->fs->blocksize)))
		return ENOMEM;
	err = ext2fs_inline_data_get(nf->fs, ino, (struct ext2_inode *)inode, buf, &have);
	if (err) {
		free(buf);
		return ngfs_errno(nf, err, "inline_data", ino);
	}
	if (size > have) {
		/* i_size claims more than the inode holds: a damaged inode. */
		free(buf);
		return ngfs_errno(nf, EXT2_ET_INLINE_DATA_NO_BLOCK, "inline_data", ino);
	}
	memset(buf + size, 0, len - size);
	*out = buf;
	return 0;
}

/*
 * Store @len bytes as the inline contents.  EXT2_ET_INLINE_DATA_NO_SPACE
 * (nothing changed) when they do not fit in the inode.  @inode is re-read:
 * the xattr area changed under it.
 */
static errcode_t inline_store(struct ngfs *nf, ext2_ino_t ino,
			      struct ext2_inode_large *inode, char *buf, size_t len)
{
	errcode_t err;

	/* A short file still rewrites all of i_block, so its tail stays zero. */
	if (len < INODE_INLINE_BYTES)
		len = INODE_INLINE_BYTES;
	err = ext2fs_inline_data_set(nf->fs, ino, (struct ext2_inode *)inode, buf, len);
	nf->dirty = 1;
	if (!err)
		err = ext2fs_read_inode_full(nf->fs, ino, (struct ext2_inode *)inode,
					     sizeof(*inode));
	return err;
}

int ngfs_inline_read(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		     char *buf, size_t len, off_t off, size_t *done)
{
	uint64_t size = EXT2_I_SIZE(inode);
	char *data;
	int err;

	*done = 0;
	if (off < 0 || (uint64_t)off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	if ((err = inline_load(nf, ino, inode, 0, &data)))
		return err;
	memcpy(buf, data + off, len);
	free(data);
	nf->inline_io_calls++;
	*done = len;
	return 0;
}

int ngfs_inline_write(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		      const char *buf, size_t len, off_t off, size_t *done)
{
	uint64_t size = EXT2_I_SIZE(inode), end = (uint64_t)off + len;
	char *data;
	errcode_t e;
	int err;

	*done = 0;
	nf->inline_io_calls++;	/* a write to an inline file, even one that moves it */
	if (end > nf->fs->blocksize)	/* never inline: no need to try */
		return ngfs_inline_expand(nf, ino, inode);
	if ((err = inline_load(nf, ino, inode, end, &data)))
		return err;
	memcpy(data + off, buf, len);
	e = inline_store(nf, ino, inode, data, end > size ? end : size);
	free(data);
	/*
	 * Too big for the inode: move to blocks; the caller then writes the
	 * whole range there, which also heals a half-done xattr update.
	 */
	if (e == EXT2_ET_INLINE_DATA_NO_SPACE || e == EXT2_ET_EA_NO_SPACE)
		return ngfs_inline_expand(nf, ino, inode);
	if (e)
		return ngfs_errno(nf, e, "write", ino);
	*done = len;
	return 0;
}

int ngfs_inline_truncate(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			 uint64_t size)
{
	uint64_t old = EXT2_I_SIZE(inode);
	char *data;
	errcode_t e;
	int err;

	if (size > nf->fs->blocksize)
		return ngfs_inline_expand(nf, ino, inode);
	if ((err = inline_load(nf, ino, inode, size, &data)))
		return err;
	/* Bytes past the new size are zero in @data: shrinking clears them. */
	if (size < old)
		memset(data + size, 0, old - size);
	e = inline_store(nf, ino, inode, data, size);
	free(data);
	if (e == EXT2_ET_INLINE_DATA_NO_SPACE || e == EXT2_ET_EA_NO_SPACE)
		return ngfs_inline_expand(nf, ino, inode);
	return e ? ngfs_errno(nf, e, "truncate", ino) : 0;
}

static errcode_t drop_system_data(struct ngfs *nf, ext2_ino_t ino)
{
	struct ext2_xattr_handle *h;
	errcode_t err;

	if ((err = ext2fs_xattrs_open(nf->fs, ino, &h)))
		return err;
	err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattr_remove(h, "system.data");
	ext2fs_xattrs_close(&h);
	return err;
}

/*
 * Move an inline file into blocks (extent-mapped when the filesystem has
 * extents), keeping i_size and contents.  Space is checked before anything
 * changes, so ENOSPC leaves the file as it was.
 */
int ngfs_inline_expand(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	uint64_t size = EXT2_I_SIZE(inode), bs = nf->fs->blocksize;
	blk64_t need = (size + bs - 1) / bs + 1;	/* + a tree block, at worst */
	size_t done = 0;
	errcode_t e;
	char *data;
	int err = 0;

	if (!ngfs_inode_inline(inode))
		return 0;
	if (ngfs_space_grant(nf, need) < need)
		return ENOSPC;
	if ((err = inline_load(nf, ino, inode, 0, &data)))
		return err;
	nf->dirty = 1;
	if ((e = drop_system_data(nf, ino)) ||
	    (e = ext2fs_read_inode_full(nf->fs, ino, (struct ext2_inode *)inode,
					sizeof(*inode)))) {
		free(data);
		return ngfs_errno(nf, e, "expand_inline", ino);
	}
	/* i_size stays: the block writes below fill the holes it covers. */
	memset(inode->i_block, 0, sizeof(inode->i_block));
	inode->i_flags &= ~EXT4_INLINE_DATA_FL;
	if (ext2fs_has_feature_extents(nf->fs->super))
		err = ngfs_init_extents(nf, ino, inode);
	if (!err)
		err = ngfs_write_inode(nf, ino, inode);
	if (!err && size)
		err = ngfs_write_blocks(nf, ino, inode, data, size, 0, &done);
	free(data);
	if (!err && done != size)
		err = EIO;
	if (!err)
		err = ngfs_write_inode(nf, ino, inode);
	if (err)
		ngfs_log("inode %u: moving inline data to blocks failed: %s",
			 ino, strerror(err));
	return err;
}
