/*
 * orphan.c: orphans left by an unclean shutdown, processed at a read-write
 * mount as the kernel's ext4 does after journal replay.
 *
 * An orphan is an inode being truncated or an unlinked inode that was still
 * open.  The classic list starts at s_last_orphan and is chained through
 * i_dtime; the orphan_file feature keeps inode numbers in the blocks of a
 * file instead.  Each orphan without links is freed; one with links has its
 * blocks past i_size freed (the truncate it was in).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ngfs.h"

/* Finish the operation orphan INO was in; returns 0 or an errno (WHY filled). */
static int release_one(struct ngfs *nf, ext2_ino_t ino, char *why, size_t len)
{
	struct ext2_inode_large inode;
	uint64_t bs = nf->fs->blocksize;
	int err;

	if (ino < EXT2_FIRST_INODE(nf->fs->super) || ino > nf->fs->super->s_inodes_count ||
	    !ext2fs_test_inode_bitmap2(nf->fs->inode_map, ino)) {
		snprintf(why, len, "the orphan list names inode %u, which is not in use", ino);
		return EUCLEAN;
	}
	if ((err = ngfs_read_inode(nf, ino, &inode)))
		goto fail;
	if (!inode.i_links_count) {
		if ((err = ngfs_free_inode(nf, ino)))
			goto fail;
		return 0;
	}
	if (!ngfs_inode_inline(&inode) &&
	    ext2fs_inode_has_valid_blocks2(nf->fs, (struct ext2_inode *)&inode) &&
	    (err = ngfs_fmap_punch(nf, ino, &inode, (EXT2_I_SIZE(&inode) + bs - 1) / bs, ~0ULL)))
		goto fail;
	if ((err = ngfs_read_inode(nf, ino, &inode)))
		goto fail;
	inode.i_dtime = 0;
	if ((err = ngfs_write_inode(nf, ino, &inode)))
		goto fail;
	return 0;
fail:
	snprintf(why, len, "cannot release orphan inode %u: %s", ino, strerror(err));
	return err;
}

/* The classic list: s_last_orphan, then each inode's i_dtime. */
static int release_list(struct ngfs *nf, char *why, size_t len)
{
	struct ext2_super_block *sb = nf->fs->super;
	uint32_t n = 0;

	while (sb->s_last_orphan) {
		ext2_ino_t ino = sb->s_last_orphan, next;
		struct ext2_inode_large inode;
		int err;

		if (++n > sb->s_inodes_count) {
			snprintf(why, len, "the orphan list loops");
			return EUCLEAN;
		}
		if (ino < EXT2_FIRST_INODE(sb) || ino > sb->s_inodes_count) {
			snprintf(why, len, "the orphan list names inode %u, out of range", ino);
			return EUCLEAN;
		}
		if ((err = ngfs_read_inode(nf, ino, &inode))) {
			snprintf(why, len, "cannot read orphan inode %u: %s", ino, strerror(err));
			return err;
		}
		next = inode.i_dtime;
		if ((err = release_one(nf, ino, why, len)))
			return err;
		sb->s_last_orphan = next;
		ext2fs_mark_super_dirty(nf->fs);
		nf->dirty = 1;
	}
	return 0;
}

/* The orphan file: blocks of inode numbers, each block with a magic and a checksum. */
static int release_file(struct ngfs *nf, char *why, size_t len)
{
	ext2_filsys fs = nf->fs;
	ext2_ino_t fino = fs->super->s_orphan_file_inum;
	int per_block = ext2fs_inodes_per_orphan_block(fs);
	struct ext2_inode_large inode;
	blk64_t lblk, nblocks, pblk;
	char *buf;
	int err = 0, i;

	if (!fino || fino > fs->super->s_inodes_count || ngfs_read_inode(nf, fino, &inode)) {
		snprintf(why, len, "the orphan file (inode %u) cannot be read", fino);
		return EUCLEAN;
	}
	nblocks = EXT2_I_SIZE(&inode) / fs->blocksize;
	buf = malloc(fs->blocksize);
	if (!buf)
		return ENOMEM;
	for (lblk = 0; lblk < nblocks && !err; lblk++) {
		uint32_t *slot = (uint32_t *)buf;
		int changed = 0;

		if (ext2fs_bmap2(fs, fino, (struct ext2_inode *)&inode, NULL, 0, lblk, NULL, &pblk) ||
		    !pblk || io_channel_read_blk64(fs->io, pblk, 1, buf)) {
			snprintf(why, len, "orphan file block %llu cannot be read",
				 (unsigned long long)lblk);
			err = EUCLEAN;
			break;
		}
		if (ext2fs_le32_to_cpu(ext2fs_orphan_block_tail(fs, buf)->ob_magic) !=
		    EXT4_ORPHAN_BLOCK_MAGIC ||
		    (ext2fs_has_feature_metadata_csum(fs->super) &&
		     !ext2fs_orphan_file_block_csum_verify(fs, fino, pblk, buf))) {
			snprintf(why, len, "orphan file block %llu is damaged",
				 (unsigned long long)lblk);
			err = EUCLEAN;
			break;
		}
		for (i = 0; i < per_block && !err; i++) {
			ext2_ino_t ino = ext2fs_le32_to_cpu(slot[i]);
			if (!ino)
				continue;
			if (!(err = release_one(nf, ino, why, len))) {
				slot[i] = 0;
				changed = 1;
			}
		}
		if (changed && (ext2fs_orphan_file_block_csum_set(fs, fino, pblk, buf) ||
				io_channel_write_blk64(fs->io, pblk, 1, buf)) && !err) {
			snprintf(why, len, "cannot write orphan file block %llu",
				 (unsigned long long)lblk);
			err = EIO;
		}
	}
	free(buf);
	return err;
}

/*
 * Called at a read-write mount with the bitmaps loaded.  Returns 0, or an
 * errno with WHY saying what stopped it (the mount then goes read-only).
 */
int ngfs_recover_orphans(struct ngfs *nf, char *why, size_t len)
{
	struct ext2_super_block *sb = nf->fs->super;
	int err;

	if (!sb->s_last_orphan && !ext2fs_has_feature_orphan_present(sb))
		return 0;
	if ((err = release_list(nf, why, len)))
		return err;
	if (ext2fs_has_feature_orphan_present(sb)) {
		if (ext2fs_has_feature_orphan_file(sb) && (err = release_file(nf, why, len)))
			return err;
		ext2fs_clear_feature_orphan_present(sb);
		ext2fs_mark_super_dirty(nf->fs);
		nf->dirty = 1;
	}
	return ngfs_flush(nf, 1);
}
