/*
 * fmap.c: the file mapping layer.  One verb answers "where does logical
 * block L of this file live, and for how many blocks is the answer the
 * same?" (a hole, a written extent or an unwritten extent); a few more
 * allocate, convert and free ranges.  The classic data path (data.c) and
 * the iomap protocol both stand on these.
 *
 * The verbs that change the mapping update INODE in place and write it:
 * libext2fs changes the caller's copy without always saving it.
 */
#include <errno.h>
#include <string.h>

#include "core/ngfs.h"

/* How far a block-mapped lookup scans in one call. */
#define BLOCKMAP_SCAN 1024

static int valid_range(struct ngfs *nf, blk64_t pblk, blk64_t len)
{
	return pblk >= nf->fs->super->s_first_data_block && pblk + len > pblk &&
	       pblk + len <= ext2fs_blocks_count(nf->fs->super);
}

static void set_map(struct ngfs_map *map, blk64_t lblk, blk64_t len,
		    enum ngfs_map_type type, blk64_t pblk)
{
	map->lblk = lblk;
	map->len = len;
	map->type = type;
	map->pblk = pblk;
}

static int fmap_extents(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			blk64_t lblk, blk64_t maxlen, struct ngfs_map *map)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	errcode_t err;
	int steps, ret = 0;

	err = ext2fs_extent_open2(nf->fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return ngfs_errno(nf, err, "fmap", ino);
	err = ext2fs_extent_goto2(h, 0, lblk);
	if (err && err != EXT2_ET_EXTENT_NOT_FOUND) {
		ret = ngfs_errno(nf, err, "fmap", ino);
		goto out;
	}
	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext);
	/* Walk right until an extent ends past lblk (bounded: corrupt trees). */
	for (steps = 0; !err && ext.e_lblk + ext.e_len <= lblk && steps < 1024; steps++)
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ext);
	if (err || ext.e_lblk + ext.e_len <= lblk) {
		/* No extent at or after lblk: a hole to the end. */
		set_map(map, lblk, maxlen, NGFS_MAP_HOLE, 0);
		goto out;
	}
	if (ext.e_lblk > lblk) {
		blk64_t gap = ext.e_lblk - lblk;
		set_map(map, lblk, gap < maxlen ? gap : maxlen, NGFS_MAP_HOLE, 0);
		goto out;
	}
	if (!valid_range(nf, ext.e_pblk, ext.e_len)) {
		ret = ngfs_corrupt(nf, "fmap", ino, "extent points outside the filesystem");
		goto out;
	}
	{
		blk64_t skip = lblk - ext.e_lblk, len = ext.e_len - skip;
		set_map(map, lblk, len < maxlen ? len : maxlen,
			(ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT) ? NGFS_MAP_UNWRITTEN :
								   NGFS_MAP_MAPPED,
			ext.e_pblk + skip);
	}
out:
	ext2fs_extent_free(h);
	return ret;
}

static int fmap_blockmap(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			 blk64_t lblk, blk64_t maxlen, struct ngfs_map *map)
{
	blk64_t i, first = 0, pblk;
	errcode_t err;

	if (maxlen > BLOCKMAP_SCAN)
		maxlen = BLOCKMAP_SCAN;
	for (i = 0; i < maxlen; i++) {
		pblk = 0;
		err = ext2fs_bmap2(nf->fs, ino, (struct ext2_inode *)inode, NULL, 0, lblk + i,
				   NULL, &pblk);
		if (err == EXT2_ET_FILE_TOO_BIG && i) {
			break;
		} else if (err == EXT2_ET_FILE_TOO_BIG) {
			pblk = 0;	/* past the addressable range: a hole */
		} else if (err) {
			return ngfs_errno(nf, err, "fmap", ino);
		}
		if (pblk && !valid_range(nf, pblk, 1))
			return ngfs_corrupt(nf, "fmap", ino, "block pointer outside the filesystem");
		if (i == 0)
			first = pblk;
		else if (first ? pblk != first + i : pblk != 0)
			break;
	}
	set_map(map, lblk, i ? i : 1, first ? NGFS_MAP_MAPPED : NGFS_MAP_HOLE, first);
	return 0;
}

int ngfs_fmap_get(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		  blk64_t lblk, blk64_t maxlen, struct ngfs_map *map)
{
	if (!maxlen)
		maxlen = 1;
	if (inode->i_flags & EXT4_EXTENTS_FL)
		return fmap_extents(nf, ino, inode, lblk, maxlen, map);
	return fmap_blockmap(nf, ino, inode, lblk, maxlen, map);
}

/*
 * Appending to a file: grow the extent that ends at lblk with blocks that
 * follow it on disk, when they are free.  ext2fs_fallocate only extends an
 * initialized extent when asked to zero the new blocks, which a write is
 * about to overwrite anyway; without this every write became an extent of
 * its own.  Sets *got to the number of blocks added (possibly 0).
 */
static int extend_left(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		       blk64_t lblk, blk64_t len, blk64_t *got)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent left;
	blk64_t pblk, plen, room;
	errcode_t err;

	*got = 0;
	if (!lblk || !(inode->i_flags & EXT4_EXTENTS_FL))
		return 0;
	if (ext2fs_extent_open2(nf->fs, ino, (struct ext2_inode *)inode, &h))
		return 0;
	if (ext2fs_extent_goto2(h, 0, lblk - 1) ||
	    ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &left) ||
	    left.e_lblk + left.e_len != lblk || (left.e_flags & EXT2_EXTENT_FLAGS_UNINIT) ||
	    left.e_len >= EXT_INIT_MAX_LEN)
		goto out;
	room = EXT_INIT_MAX_LEN - left.e_len;
	if (ext2fs_new_range(nf->fs, EXT2_NEWRANGE_FIXED_GOAL, left.e_pblk + left.e_len,
			     len < room ? len : room, NULL, &pblk, &plen))
		goto out;
	left.e_len += plen;
	err = ext2fs_extent_replace(h, 0, &left);
	if (!err)
		err = ext2fs_extent_fix_parents(h);
	if (!err) {
		ext2fs_block_alloc_stats_range(nf->fs, pblk, plen, +1);
		err = ext2fs_iblk_add_blocks(nf->fs, (struct ext2_inode *)inode, plen);
		*got = plen;
	}
	ext2fs_extent_free(h);
	nf->dirty = 1;
	return ngfs_errno(nf, err, "allocate", ino);
out:
	ext2fs_extent_free(h);
	return 0;
}

/*
 * Allocate the holes in [lblk, lblk+len).  Written-to-be blocks are
 * allocated initialized (the caller writes or zeroes every byte of them);
 * fallocate asks for unwritten extents, which read as zeros.  The on-disk
 * inode is updated.
 */
int ngfs_fmap_alloc(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		    blk64_t lblk, blk64_t len, int unwritten)
{
	errcode_t err = 0;
	blk64_t got;
	int ret;

	if (!unwritten) {
		if ((ret = extend_left(nf, ino, inode, lblk, len, &got)))
			return ret;
		lblk += got;
		len -= got;
		if (!len)
			return ngfs_write_inode(nf, ino, inode);
	}
	if (inode->i_flags & EXT4_EXTENTS_FL) {
		err = ext2fs_fallocate(nf->fs, unwritten ? EXT2_FALLOCATE_FORCE_UNINIT :
					       EXT2_FALLOCATE_FORCE_INIT,
				       ino, (struct ext2_inode *)inode, ~0ULL, lblk, len);
	} else if (unwritten) {
		return EOPNOTSUPP;	/* no unwritten state in block maps */
	} else {
		blk64_t i, pblk;
		for (i = 0; i < len && !err; i++) {
			pblk = 0;
			err = ext2fs_bmap2(nf->fs, ino, (struct ext2_inode *)inode, NULL,
					   BMAP_ALLOC, lblk + i, NULL, &pblk);
		}
	}
	nf->dirty = 1;
	/* libext2fs updated INODE (extent root, i_blocks) but may not have saved it. */
	ret = ngfs_write_inode(nf, ino, inode);
	if (err)
		return ngfs_errno(nf, err, "allocate", ino);
	return ret;
}

/* Unwritten blocks in [lblk, lblk+len) now hold data: mark them written. */
int ngfs_fmap_mark_written(struct ngfs *nf, ext2_ino_t ino,
			   struct ext2_inode_large *inode, blk64_t lblk, blk64_t len)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	blk64_t cur = lblk, end = lblk + len;
	errcode_t err;
	int ret;

	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		return 0;
	err = ext2fs_extent_open2(nf->fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return ngfs_errno(nf, err, "mark_written", ino);
	while (cur < end && !err) {
		blk64_t ext_end, stop, i;

		err = ext2fs_extent_goto2(h, 0, cur);
		if (!err)
			err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext);
		if (err)
			break;
		ext_end = ext.e_lblk + ext.e_len;
		if (cur < ext.e_lblk || cur >= ext_end) {
			cur++;
			continue;
		}
		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			cur = ext_end;
			continue;
		}
		if (cur == ext.e_lblk && end >= ext_end) {
			ext.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
			err = ext2fs_extent_replace(h, 0, &ext);
			cur = ext_end;
			continue;
		}
		stop = end < ext_end ? end : ext_end;
		for (i = cur; i < stop && !err; i++)
			err = ext2fs_extent_set_bmap(h, i, ext.e_pblk + (i - ext.e_lblk), 0);
		cur = stop;
	}
	ext2fs_extent_free(h);
	nf->dirty = 1;
	ret = ngfs_write_inode(nf, ino, inode);
	if (err)
		return ngfs_errno(nf, err, "mark_written", ino);
	return ret;
}

/*
 * libext2fs 1.47.0's punch refuses to free an extent that ends at the last
 * block of the filesystem (an off-by-one in punch_extent_blocks, fixed
 * upstream after 1.47.0): the extent leaves the tree but its blocks stay
 * allocated.  Unmap and free that one block here first, so that what is
 * left for ext2fs_punch ends one block earlier.
 */
static errcode_t free_last_fs_block(struct ngfs *nf, ext2_ino_t ino,
				    struct ext2_inode_large *inode, blk64_t start, blk64_t end)
{
	blk64_t last = ext2fs_blocks_count(nf->fs->super) - 1, lblk;
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	errcode_t err;
	int found = 0;

	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		return 0;
	/* Nearly always the last block is free: then no extent maps it. */
	if (nf->fs->block_map && !ext2fs_test_block_bitmap2(nf->fs->block_map, last))
		return 0;
	err = ext2fs_extent_open2(nf->fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return err;
	for (err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext); !err;
	     err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ext)) {
		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF) || !ext.e_len)
			continue;
		if (ext.e_pblk + ext.e_len - 1 == last) {
			found = 1;
			break;
		}
	}
	err = 0;
	lblk = ext.e_lblk + ext.e_len - 1;
	if (found && lblk >= start && lblk <= end) {
		err = ext2fs_extent_set_bmap(h, lblk, 0, 0);	/* unmap it */
		if (!err) {
			ext2fs_block_alloc_stats2(nf->fs, last, -1);
			err = ext2fs_iblk_sub_blocks(nf->fs, (struct ext2_inode *)inode, 1);
		}
	}
	ext2fs_extent_free(h);
	return err;
}

/* Free the blocks of [lblk, lblk+len). */
int ngfs_fmap_punch(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		    blk64_t lblk, blk64_t len)
{
	errcode_t err;
	int ret;

	if (!len)
		return 0;
	err = free_last_fs_block(nf, ino, inode, lblk, len == ~0ULL ? ~0ULL : lblk + len - 1);
	if (!err)
		err = ext2fs_punch(nf->fs, ino, (struct ext2_inode *)inode, NULL, lblk,
			   len == ~0ULL ? ~0ULL : lblk + len - 1);
	nf->dirty = 1;
	ret = ngfs_write_inode(nf, ino, inode);
	if (err)
		return ngfs_errno(nf, err, "punch", ino);
	return ret;
}
