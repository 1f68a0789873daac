/*
 * claims.c: what the allocation bitmaps must not lie about, checked once
 * per read-write mount, when the bitmaps are loaded (ngfs_need_bitmaps).
 *
 * libext2fs allocates whatever the bitmaps call free.  On a damaged
 * filesystem a bitmap may call free a block that a file, the bad-blocks
 * inode or the fixed metadata uses, or an inode that is in use; handing
 * that out makes two owners of one block (or one inode), which is new
 * damage.  So a read-write mount first walks what the inodes claim (a
 * light version of e2fsck's pass 1, bounded so that it stays cheap) and
 * marks every claimed block and inode in use.  Blocks are marked in the
 * in-memory bitmap only ("phantom" marks, taken out around every bitmap
 * write): e2fsck may disagree with our walk (it ignores the blocks of some
 * damaged inodes), and the on-disk bitmap must not gain a difference it
 * did not have; inodes likewise.  Freeing a phantom block is refused like
 * freeing a block marked free (fmap.c's ngfs_bad_range), freeing a
 * phantom inode too (validate.c).  Blocks claimed twice are
 * remembered: freeing one owner's copy would free the other's, so an
 * unlink or truncate that meets them refuses (validate.c).
 *
 * The layout check refuses read-write when two fixed metadata structures
 * share a block: writing one bitmap would overwrite the other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ngfs.h"

/* The scan looks at no more in-use inodes than this (cost bound). */
#define CLAIM_SCAN_MAX_INODES 65536
/* Nor more block-map entries per inode. */
#define CLAIM_SCAN_MAX_STEPS 65536

struct scan {
	struct ngfs *nf;
	ext2fs_block_bitmap seen, shared, phantom;
	unsigned int steps;
};

static int in_fs(ext2_filsys fs, blk64_t start, blk64_t len)
{
	return start >= fs->super->s_first_data_block && len && start + len > start &&
	       start + len <= ext2fs_blocks_count(fs->super);
}

/* START..START+LEN is claimed once more: twice is shared. */
static void claim(struct scan *s, blk64_t start, blk64_t len)
{
	blk64_t b;

	if (!in_fs(s->nf->fs, start, len))
		return;
	if (ext2fs_test_block_bitmap_range2(s->seen, start, len)) {	/* all clear */
		ext2fs_mark_block_bitmap_range2(s->seen, start, len);
		return;
	}
	for (b = start; b < start + len; b++) {
		if (ext2fs_test_block_bitmap2(s->seen, b))
			ext2fs_mark_block_bitmap2(s->shared, b);
		else
			ext2fs_mark_block_bitmap2(s->seen, b);
	}
}

static int claim_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		       blk64_t ref_blk, int ref_offset, void *priv)
{
	struct scan *s = priv;

	(void)fs;
	(void)blockcnt;
	(void)ref_blk;
	(void)ref_offset;
	if (++s->steps > CLAIM_SCAN_MAX_STEPS)
		return BLOCK_ABORT;
	claim(s, *blocknr, 1);
	return 0;
}

static void claim_extents(struct scan *s, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	errcode_t err;

	if (ext2fs_extent_open2(s->nf->fs, ino, (struct ext2_inode *)inode, &h))
		return;
	for (err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext);
	     !err && ++s->steps <= CLAIM_SCAN_MAX_STEPS;
	     err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ext)) {
		if (ext.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
			continue;
		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF))
			claim(s, ext.e_pblk, 1);
		else
			claim(s, ext.e_pblk, ext.e_len);
	}
	ext2fs_extent_free(h);
}

static void claim_inode(struct scan *s, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	ext2_filsys fs = s->nf->fs;
	blk64_t xblk = ext2fs_file_acl_block(fs, (struct ext2_inode *)inode);

	/* xattr blocks are shared by design (h_refcount): in use, never "twice" */
	if (xblk && in_fs(fs, xblk, 1))
		ext2fs_mark_block_bitmap2(s->seen, xblk);
	if (ngfs_inode_inline(inode) ||
	    !ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)inode))
		return;
	s->steps = 0;
	if (ngfs_inode_extents(inode))
		claim_extents(s, ino, inode);
	else
		ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, claim_block, s);
}

/* Every block of the fixed metadata (fmap.c's map), the blocks of the files. */
static unsigned long scan_inodes(struct scan *s, unsigned long *inode_lies)
{
	ext2_filsys fs = s->nf->fs;
	ext2_inode_scan iscan;
	struct ext2_inode_large inode;
	ext2_ino_t ino;
	unsigned long used = 0;

	if (ext2fs_open_inode_scan(fs, 0, &iscan))
		return 0;
	while (used < CLAIM_SCAN_MAX_INODES) {
		errcode_t err = ext2fs_get_next_inode_full(iscan, &ino,
							   (struct ext2_inode *)&inode,
							   sizeof(inode));
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE ||
		    err == EXT2_ET_INODE_CSUM_INVALID || err == EXT2_ET_INODE_IS_GARBAGE)
			continue;
		if (err || !ino)
			break;
		/* the bad-blocks inode's blocks are unusable, whatever else it says */
		if (ino == EXT2_BAD_INO) {
			claim_inode(s, ino, &inode);
			continue;
		}
		/*
		 * The resize inode maps the reserved GDT blocks of every backup
		 * group, which fmap.c's map of fixed metadata already claims;
		 * walking it read one block per reserved GDT block and backup
		 * (most of the mount of a 1 TiB filesystem).  Its own
		 * double-indirect block is the one block left to claim.
		 */
		if (ino == EXT2_RESIZE_INO) {
			if (inode.i_block[EXT2_DIND_BLOCK] &&
			    in_fs(fs, inode.i_block[EXT2_DIND_BLOCK], 1))
				claim(s, inode.i_block[EXT2_DIND_BLOCK], 1);
			continue;
		}
		if (!inode.i_links_count || inode.i_dtime || !inode.i_mode)
			continue;
		used++;
		if (ino >= EXT2_FIRST_INODE(fs->super) &&
		    !ext2fs_test_inode_bitmap2(fs->inode_map, ino)) {
			ngfs_claims_phantom_inode(s->nf, ino);
			(*inode_lies)++;
		}
		claim_inode(s, ino, &inode);
	}
	ext2fs_close_inode_scan(iscan);
	return used;
}

/* Claimed blocks the bitmap calls free: mark them in use, count them. */
static unsigned long fix_block_lies(struct scan *s)
{
	ext2_filsys fs = s->nf->fs;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1, start, b, run_end, z;
	unsigned long lies = 0;

	for (start = fs->super->s_first_data_block; start <= end; start = run_end + 1) {
		if (ext2fs_find_first_set_block_bitmap2(s->seen, start, end, &b))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(s->seen, b, end, &run_end))
			run_end = end;
		else
			run_end--;
		for (z = b; z <= run_end; z++) {
			if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, z, run_end, &z))
				break;
			ext2fs_mark_block_bitmap2(fs->block_map, z);
			ext2fs_mark_block_bitmap2(s->phantom, z);
			lies++;
		}
	}
	return lies;
}

void ngfs_claims_scan(struct ngfs *nf)
{
	ext2_filsys fs = nf->fs;
	struct scan s = { .nf = nf };
	unsigned long block_lies, inode_lies = 0;
	blk64_t i;

	if (nf->readonly || !fs->block_map || !fs->inode_map)
		return;
	if (ext2fs_allocate_block_bitmap(fs, "claimed", &s.seen) ||
	    ext2fs_allocate_block_bitmap(fs, "claimed twice", &s.shared) ||
	    ext2fs_allocate_block_bitmap(fs, "claimed but free", &s.phantom))
		goto out;
	for (i = 0; nf->metamap && i < ngfs_metamap_count(nf); i++) {
		blk64_t start, len;
		ngfs_metamap_range(nf, i, &start, &len);
		claim(&s, start, len);
	}
	scan_inodes(&s, &inode_lies);
	block_lies = fix_block_lies(&s);
	if (block_lies || inode_lies) {
		char what[160];
		snprintf(what, sizeof(what), "the allocation bitmaps call %lu block(s) and %lu "
			 "inode(s) free that are in use; not allocating them", block_lies,
			 inode_lies);
		nf->dirty = 1;
		ngfs_corrupt(nf, "mount", 0, what);
	}
	if (block_lies) {
		nf->phantom_blocks = s.phantom;
		s.phantom = NULL;
	}
	if (ext2fs_find_first_set_block_bitmap2(s.shared, fs->super->s_first_data_block,
						ext2fs_blocks_count(fs->super) - 1, &i) == 0) {
		nf->shared_blocks = s.shared;
		s.shared = NULL;
	}
out:
	if (s.seen)
		ext2fs_free_block_bitmap(s.seen);
	if (s.shared)
		ext2fs_free_block_bitmap(s.shared);
	if (s.phantom)
		ext2fs_free_block_bitmap(s.phantom);
}

/* Phantom marks in START..START+LEN? */
int ngfs_claims_phantom(struct ngfs *nf, blk64_t start, blk64_t len)
{
	return nf->phantom_blocks &&
	       !ext2fs_test_block_bitmap_range2(nf->phantom_blocks, start, len);
}

/*
 * INO is in use but the inode bitmap calls it free: mark it in use in
 * memory only (the counts agree with the truth more often than the bitmap
 * does; changing them would add a problem).
 */
int ngfs_claims_phantom_inode(struct ngfs *nf, ext2_ino_t ino)
{
	ext2_ino_t *v;

	if (ngfs_claims_is_phantom_inode(nf, ino))
		return 0;
	v = realloc(nf->phantom_inodes, (nf->nphantom_inodes + 1) * sizeof(*v));
	if (!v)
		return ENOMEM;
	nf->phantom_inodes = v;
	v[nf->nphantom_inodes++] = ino;
	ext2fs_mark_inode_bitmap2(nf->fs->inode_map, ino);
	return 0;
}

int ngfs_claims_is_phantom_inode(struct ngfs *nf, ext2_ino_t ino)
{
	size_t i;

	for (i = 0; i < nf->nphantom_inodes; i++)
		if (nf->phantom_inodes[i] == ino)
			return 1;
	return 0;
}

/* Take the phantom marks out of the bitmaps (ON = 0) or put them back. */
void ngfs_claims_phantom_marks(struct ngfs *nf, int on)
{
	ext2_filsys fs = nf->fs;
	blk64_t b, end = ext2fs_blocks_count(fs->super) - 1, start;
	size_t i;

	for (i = 0; fs->inode_map && i < nf->nphantom_inodes; i++) {
		if (on)
			ext2fs_mark_inode_bitmap2(fs->inode_map, nf->phantom_inodes[i]);
		else
			ext2fs_unmark_inode_bitmap2(fs->inode_map, nf->phantom_inodes[i]);
	}
	if (!nf->phantom_blocks || !fs->block_map)
		return;
	for (start = fs->super->s_first_data_block; start <= end; start = b + 1) {
		if (ext2fs_find_first_set_block_bitmap2(nf->phantom_blocks, start, end, &b))
			break;
		if (on)
			ext2fs_mark_block_bitmap2(fs->block_map, b);
		else
			ext2fs_unmark_block_bitmap2(fs->block_map, b);
	}
}

/* Blocks of START..START+LEN that another inode claims too? */
int ngfs_claims_shared(struct ngfs *nf, blk64_t start, blk64_t len)
{
	return nf->shared_blocks &&
	       !ext2fs_test_block_bitmap_range2(nf->shared_blocks, start, len);
}

void ngfs_claims_free(struct ngfs *nf)
{
	free(nf->phantom_inodes);
	nf->phantom_inodes = NULL;
	nf->nphantom_inodes = 0;
	if (nf->phantom_blocks)
		ext2fs_free_block_bitmap(nf->phantom_blocks);
	nf->phantom_blocks = NULL;
	if (nf->shared_blocks)
		ext2fs_free_block_bitmap(nf->shared_blocks);
	nf->shared_blocks = NULL;
}

/*
 * Two fixed metadata structures in one block (a group's bitmaps, inode
 * table, against each other or another group's): writing one destroys
 * the other.  Returns why read-write is unsafe, or NULL.
 */
const char *ngfs_layout_blocker(struct ngfs *nf, char *buf, size_t len)
{
	ext2_filsys fs = nf->fs;
	ext2fs_block_bitmap used;
	const char *why = NULL;
	dgrp_t g;

	if (ext2fs_allocate_block_bitmap(fs, "layout", &used))
		return NULL;
	for (g = 0; g < fs->group_desc_count && !why; g++) {
		blk64_t bb = ext2fs_block_bitmap_loc(fs, g), ib = ext2fs_inode_bitmap_loc(fs, g);
		blk64_t it = ext2fs_inode_table_loc(fs, g);
		blk64_t itlen = fs->inode_blocks_per_group;
		const char *what = NULL;

		if (!in_fs(fs, bb, 1))
			what = "block bitmap is outside the filesystem";
		else if (!in_fs(fs, ib, 1))
			what = "inode bitmap is outside the filesystem";
		else if (!in_fs(fs, it, itlen))
			what = "inode table is outside the filesystem";
		else if (ext2fs_test_block_bitmap2(used, bb))
			what = "block bitmap shares a block with other metadata";
		else if ((ext2fs_mark_block_bitmap2(used, bb), ext2fs_test_block_bitmap2(used, ib)))
			what = "inode bitmap shares a block with other metadata";
		else if ((ext2fs_mark_block_bitmap2(used, ib),
			  !ext2fs_test_block_bitmap_range2(used, it, itlen)))
			what = "inode table shares blocks with other metadata";
		else
			ext2fs_mark_block_bitmap_range2(used, it, itlen);
		if (what) {
			snprintf(buf, len, "group %u's %s; run e2fsck", g, what);
			why = buf;
		}
	}
	ext2fs_free_block_bitmap(used);
	return why;
}
