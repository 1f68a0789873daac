/*
 * split.c: freeing more blocks than one journal transaction can carry
 * (truncating or deleting a huge or fragmented file), crash-safe the way
 * the kernel's ext4 does it: the inode goes on the orphan list (and, for a
 * truncate, gets its new size) in a first transaction of its own; the
 * blocks are then freed in batches from the end of the file, each batch
 * small enough for a quarter of a transaction, committing whenever the
 * transaction has grown large; the last part takes the inode off the list.
 * A crash between parts leaves a consistent filesystem with the inode on
 * the orphan list, and the next mount (ours: orphan.c; the kernel's;
 * e2fsck) finishes the truncate or the delete.
 */
#include <errno.h>
#include <stdlib.h>

#include "array.h"
#include "core/ngfs.h"
#include "journal/journal.h"

/* One past the last mapped block (extent files: the last extent; block maps: the size). */
static blk64_t mapped_end(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	uint64_t bs = nf->fs->blocksize;
	blk64_t end = (EXT2_I_SIZE(inode) + bs - 1) / bs;
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;

	if (!ngfs_inode_extents(inode))
		return end;
	if (ext2fs_extent_open2(nf->fs, ino, (struct ext2_inode *)inode, &h))
		return end;
	end = 0;
	if (!ext2fs_extent_get(h, EXT2_EXTENT_LAST_LEAF, &ext)) {
		do {
			if (ext.e_lblk + ext.e_len > end)
				end = ext.e_lblk + ext.e_len;
		} while (!ext2fs_extent_get(h, EXT2_EXTENT_NEXT_SIB, &ext));
	}
	ext2fs_extent_free(h);
	return end;
}

/*
 * The end of the next batch from CUR (at most HI): the runs mapped there
 * touch at most BUDGET block groups (a bitmap block and a descriptor block
 * each, the most a batch adds to the transaction besides a few extent
 * blocks and the inode).  A run that crosses more groups is cut.
 */
static int batch_end(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		     blk64_t cur, blk64_t hi, blk64_t budget, blk64_t *out)
{
	ext2_filsys fs = nf->fs;
	blk64_t groups = 0, last = ~0ULL, runs = 0;
	struct ngfs_map map;
	int err;

	while (cur < hi) {
		blk64_t g0, g1;

		if ((err = ngfs_fmap_get(nf, ino, inode, cur, hi - cur, &map)))
			return err;
		if (!map.len)
			break;
		/* Many small runs free extent blocks too, wherever those lie. */
		if (map.type != NGFS_MAP_HOLE && ++runs > budget * 16)
			break;
		if (map.type != NGFS_MAP_HOLE) {
			g0 = ext2fs_group_of_blk2(fs, map.pblk);
			g1 = ext2fs_group_of_blk2(fs, map.pblk + map.len - 1);
			if (groups + (g0 != last) + (g1 - g0) > budget) {
				/* Take the groups that still fit: up to the first block of END. */
				blk64_t end = g0 + (budget - groups) + (g0 == last);

				if (end > g0)
					cur += ext2fs_group_first_block2(fs, end) - map.pblk;
				break;
			}
			groups += (g0 != last) + (g1 - g0);
			last = g1;
		}
		cur += map.len;
	}
	*out = cur < hi ? cur : hi;
	return 0;
}

int ngfs_punch_tail(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		    blk64_t lblk, uint64_t size)
{
	struct ext2_super_block *sb = nf->fs->super;
	uint32_t saved_dtime = inode->i_dtime;
	blk64_t budget, held, hi, cur, next, *cuts = NULL;
	size_t ncuts = 0, cap = 0;
	int pushed, err, ret;

	if (!nf->journal || nf->readonly || ngfs_inode_inline(inode))
		return ngfs_fmap_punch(nf, ino, inode, lblk, ~0ULL);
	/* A batch adds at most 2 * budget + a few blocks, and is committed on its own. */
	budget = journal_capacity(nf->journal) / 8;
	if (budget < 2)
		budget = 2;
	held = ext2fs_get_stat_i_blocks(nf->fs, (struct ext2_inode *)inode) /
	       (nf->fs->blocksize / 512);
	if (held <= budget)
		return ngfs_fmap_punch(nf, ino, inode, lblk, ~0ULL);
	hi = mapped_end(nf, ino, inode);	/* before the size changes (block maps) */

	/* First part: the new size and the orphan list, durable on their own. */
	if (size != NGFS_SIZE_KEEP && (err = ngfs_set_size(nf, inode, size)))
		return err;
	pushed = sb->s_last_orphan != ino && !ngfs_node_orphaned(nf, ino);
	if (pushed) {
		inode->i_dtime = sb->s_last_orphan;
		sb->s_last_orphan = ino;
		ext2fs_mark_super_dirty(nf->fs);
		nf->dirty = 1;
	}
	if ((err = ngfs_write_inode(nf, ino, inode)) || (err = ngfs_flush(nf, 1)))
		goto out;
	/*
	 * Then batches, cut from the front and freed from the back: each is a
	 * punch to the end of the file (what ext2fs_punch gets right for block
	 * maps, indirect blocks included), committed on its own.
	 */
	for (cur = lblk; cur < hi; cur = next) {
		if ((err = ng_array_room(&cuts, &cap, ncuts, sizeof(*cuts), 16)))
			goto out;
		cuts[ncuts++] = cur;
		if ((err = batch_end(nf, ino, inode, cur, hi, budget, &next)))
			goto out;
		if (next <= cur)
			next = cur + 1;
	}
	if (!ncuts)	/* nothing mapped past LBLK: the tree's remains only */
		err = ngfs_fmap_punch(nf, ino, inode, lblk, ~0ULL);
	while (ncuts--) {
		if ((err = ngfs_fmap_punch(nf, ino, inode, cuts[ncuts], ~0ULL)))
			goto out;
		if (ncuts && (err = ngfs_flush(nf, 1)))	/* each batch a part of its own */
			goto out;
	}
out:
	if (pushed) {
		/* Off the list again: pushed at the head, and the lock held since. */
		sb->s_last_orphan = inode->i_dtime;
		inode->i_dtime = saved_dtime;
		ext2fs_mark_super_dirty(nf->fs);
		nf->dirty = 1;
		if ((ret = ngfs_write_inode(nf, ino, inode)) && !err)
			err = ret;
	}
	free(cuts);
	return err;
}
