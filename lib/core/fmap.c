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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "core/ngfs.h"

/*
 * Where the fixed metadata lives (superblocks, descriptors, reserved GDT
 * blocks, bitmaps, inode tables), as sorted, merged block ranges built once
 * per mount.  A mapping that lands there comes from a corrupted extent or
 * block map and must never reach the data path or the kernel: writing file
 * data there would destroy the filesystem.
 */
struct ngfs_metamap {
	size_t n, cap;
	struct { blk64_t start, end; } *r;	/* [start, end) */
};

static int add_range(struct ngfs_metamap *m, blk64_t start, blk64_t len)
{
	if (!start || !len)
		return 0;
	if (ng_array_room(&m->r, &m->cap, m->n, sizeof(*m->r), 256))
		return ENOMEM;
	m->r[m->n].start = start;
	m->r[m->n].end = start + len;
	m->n++;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const blk64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

int ngfs_fmap_init(struct ngfs *nf)
{
	ext2_filsys fs = nf->fs;
	struct ngfs_metamap *m = calloc(1, sizeof(*m));
	blk64_t gdt = fs->desc_blocks + fs->super->s_reserved_gdt_blocks;
	size_t i, o;
	dgrp_t g;
	int err = 0;

	if (!m)
		return ENOMEM;
	for (g = 0; g < fs->group_desc_count && !err; g++) {
		blk64_t super = 0, old_desc = 0, new_desc = 0;
		blk_t used = 0;

		ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
		err = add_range(m, super, 1);
		if (!err)
			err = add_range(m, old_desc, gdt);
		if (!err)
			err = add_range(m, new_desc, 1);
		if (!err)
			err = add_range(m, ext2fs_block_bitmap_loc(fs, g), 1);
		if (!err)
			err = add_range(m, ext2fs_inode_bitmap_loc(fs, g), 1);
		if (!err)
			err = add_range(m, ext2fs_inode_table_loc(fs, g), fs->inode_blocks_per_group);
	}
	if (err) {
		free(m->r);
		free(m);
		return err;
	}
	qsort(m->r, m->n, sizeof(*m->r), cmp_range);
	for (i = 0, o = 0; i < m->n; i++) {
		if (o && m->r[i].start <= m->r[o - 1].end) {
			if (m->r[i].end > m->r[o - 1].end)
				m->r[o - 1].end = m->r[i].end;
		} else {
			m->r[o++] = m->r[i];
		}
	}
	m->n = o;
	nf->metamap = m;
	return 0;
}

void ngfs_fmap_free(struct ngfs *nf)
{
	if (nf->metamap)
		free(nf->metamap->r);
	free(nf->metamap);
	nf->metamap = NULL;
}

size_t ngfs_metamap_count(struct ngfs *nf)
{
	return nf->metamap ? nf->metamap->n : 0;
}

void ngfs_metamap_range(struct ngfs *nf, size_t i, blk64_t *start, blk64_t *len)
{
	*start = nf->metamap->r[i].start;
	*len = nf->metamap->r[i].end - nf->metamap->r[i].start;
}

static int overlaps_metadata(struct ngfs *nf, blk64_t start, blk64_t len)
{
	const struct ngfs_metamap *m = nf->metamap;
	size_t lo = 0, hi;

	if (!m)
		return 0;
	/* First range ending after start. */
	for (hi = m->n; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		if (m->r[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->r[lo].start < start + len;
}

/* How far a block-mapped lookup scans in one call. */
#define BLOCKMAP_SCAN 1024

/* Inside the filesystem, off the fixed metadata, and allocated. */
const char *ngfs_bad_range(struct ngfs *nf, blk64_t pblk, blk64_t len)
{
	blk64_t free_blk;

	if (!(pblk >= nf->fs->super->s_first_data_block && pblk + len > pblk &&
	      pblk + len <= ext2fs_blocks_count(nf->fs->super)))
		return "points outside the filesystem";
	if (overlaps_metadata(nf, pblk, len))
		return "points at filesystem metadata";
	if (ngfs_claims_phantom(nf, pblk, len))
		return "points at blocks marked free";
	if (nf->fs->block_map &&
	    !ext2fs_find_first_zero_block_bitmap2(nf->fs->block_map, pblk, pblk + len - 1,
						  &free_blk))
		return "points at blocks marked free";
	return NULL;
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
	const char *why;
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
	for (steps = 0; !err && ext.e_len && ext.e_lblk + ext.e_len <= lblk && steps < 1024;
	     steps++)
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ext);
	if (!err && !ext.e_len) {
		ret = ngfs_corrupt(nf, "fmap", ino, "zero-length extent");
		goto out;
	}
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
	if ((why = ngfs_bad_range(nf, ext.e_pblk, ext.e_len))) {
		char what[64];
		snprintf(what, sizeof(what), "extent %s", why);
		ret = ngfs_corrupt(nf, "fmap", ino, what);
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
	const char *why;
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
		if (pblk && (why = ngfs_bad_range(nf, pblk, 1))) {
			char what[64];
			snprintf(what, sizeof(what), "block pointer %s", why);
			return ngfs_corrupt(nf, "fmap", ino, what);
		}
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
	if (ngfs_inode_extents(inode))
		return fmap_extents(nf, ino, inode, lblk, maxlen, map);
	return fmap_blockmap(nf, ino, inode, lblk, maxlen, map);
}

/*
 * Map the holes of [lblk, lblk+len) in an extent-mapped file, written by
 * hand over libext2fs' extent handle and block allocator because
 * ext2fs_fallocate (1.47) gets two cases wrong: a hole in front of the
 * first extent is filled all the way to that extent whatever length was
 * asked (a one-byte write at block 3 of a file starting at block 256 got
 * 253 initialized blocks of stale disk contents), and its merge step asks
 * the allocator for a negative length when the right neighbour lies
 * physically before the left one.  Each run is placed after the extent on
 * its left and, when it lands right behind it with the same written state,
 * grows that extent instead of adding one (appends stay one extent).
 */
static errcode_t extent_alloc(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			      blk64_t lblk, blk64_t len, int unwritten)
{
	ext2_filsys fs = nf->fs;
	blk64_t cur = lblk, end = lblk + len, first = fs->super->s_first_data_block;
	blk64_t max = unwritten ? EXT_UNINIT_MAX_LEN : EXT_INIT_MAX_LEN;
	unsigned int uninit_flag = unwritten ? EXT2_EXTENT_FLAGS_UNINIT : 0;
	ext2_extent_handle_t h;
	errcode_t err;

	if ((err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h)))
		return err;
	while (cur < end) {
		struct ext2fs_extent ext, left, newex;
		blk64_t hole_end = end, goal, pblk, plen;
		int have_left = 0, grow;

		err = ext2fs_extent_goto2(h, 0, cur);
		if (!err) {		/* mapped already: skip that extent */
			if ((err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext)))
				break;
			cur = ext.e_lblk + ext.e_len;
			continue;
		}
		if (err != EXT2_ET_EXTENT_NOT_FOUND)
			break;
		/* In a hole: the handle sits on the left neighbour, or else the right one. */
		if (!ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext)) {
			if (ext.e_lblk < cur) {
				left = ext;
				have_left = 1;
				if (!ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ext) &&
				    ext.e_lblk > cur && ext.e_lblk < hole_end)
					hole_end = ext.e_lblk;
			} else if (ext.e_lblk < hole_end) {
				hole_end = ext.e_lblk;
			}
		}
		if (hole_end - cur < max)
			max = hole_end - cur;
		goal = have_left ? left.e_pblk + left.e_len + (cur - left.e_lblk - left.e_len) :
				   ext2fs_find_inode_goal(fs, ino, (struct ext2_inode *)inode, cur);
		if (goal < first || goal >= ext2fs_blocks_count(fs->super))
			goal = first;
		if ((err = ext2fs_new_range(fs, 0, goal, max, NULL, &pblk, &plen)))
			break;
		/* Claim first: an insert that splits a node allocates a block too. */
		ext2fs_block_alloc_stats_range(fs, pblk, plen, +1);
		grow = have_left && left.e_lblk + left.e_len == cur &&
		       left.e_pblk + left.e_len == pblk &&
		       (left.e_flags & EXT2_EXTENT_FLAGS_UNINIT) == uninit_flag &&
		       left.e_len + plen <= (unwritten ? EXT_UNINIT_MAX_LEN : EXT_INIT_MAX_LEN);
		if (grow) {
			left.e_len += plen;
			err = ext2fs_extent_goto2(h, 0, left.e_lblk);
			if (!err)
				err = ext2fs_extent_replace(h, 0, &left);
		} else {
			int op = EXT2_EXTENT_INSERT_AFTER;

			newex.e_lblk = cur;
			newex.e_pblk = pblk;
			newex.e_len = plen;
			newex.e_flags = uninit_flag;
			ext2fs_extent_goto2(h, 0, cur);
			if (!ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext) && ext.e_lblk > cur)
				op = 0;		/* insert before */
			err = ext2fs_extent_insert(h, op, &newex);
		}
		if (!err)
			err = ext2fs_extent_fix_parents(h);
		if (!err)
			err = ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)inode, plen);
		if (err) {
			ext2fs_block_alloc_stats_range(fs, pblk, plen, -1);
			break;
		}
		cur += plen;
		max = unwritten ? EXT_UNINIT_MAX_LEN : EXT_INIT_MAX_LEN;
	}
	ext2fs_extent_free(h);
	return err;
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
	int ret;

	if ((ret = ngfs_need_bitmaps(nf)))
		return ret;
	if (ngfs_inode_extents(inode)) {
		err = extent_alloc(nf, ino, inode, lblk, len, unwritten);
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
/*
 * Make [cur, stop) of the unwritten extent EXT (the handle's current one)
 * written with at most two splits, the way the kernel converts: a range
 * at the head of the extent joins the written extent just before it when
 * both are contiguous, so writing a preallocated file front to back keeps
 * one extent.  (ext2fs_extent_set_bmap block by block rewrote and
 * re-checksummed the leaf once per block: 60% of the daemon's CPU in
 * crc32c when fio wrote its fallocated 1 GiB file.)
 */
static errcode_t convert_range(ext2_extent_handle_t h, struct ext2fs_extent *ext,
			       blk64_t cur, blk64_t stop)
{
	blk64_t head = cur - ext->e_lblk, n = stop - cur;
	blk64_t tail = ext->e_lblk + ext->e_len - stop;
	struct ext2fs_extent prev, piece;
	errcode_t err;

	if (!head && cur > 0 && !ext2fs_extent_goto2(h, 0, cur - 1) &&
	    !ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &prev) &&
	    !(prev.e_flags & EXT2_EXTENT_FLAGS_UNINIT) &&
	    prev.e_lblk + prev.e_len == cur && prev.e_pblk + prev.e_len == ext->e_pblk &&
	    prev.e_len + n <= EXT_INIT_MAX_LEN) {
		/* Shrink (or drop) the unwritten extent first: never two owners of a block. */
		if ((err = ext2fs_extent_goto2(h, 0, cur)) ||
		    (err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, ext)))
			return err;
		if (tail) {
			ext->e_lblk += n;
			ext->e_pblk += n;
			ext->e_len -= n;
			err = ext2fs_extent_replace(h, 0, ext);
			if (!err)
				err = ext2fs_extent_fix_parents(h);
		} else {
			struct ext2fs_extent next;

			/* The extent after it may now lead its leaf: the index follows. */
			err = ext2fs_extent_delete(h, 0);
			if (!err && !ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &next))
				err = ext2fs_extent_fix_parents(h);
		}
		if (err || (err = ext2fs_extent_goto2(h, 0, cur - 1)) ||
		    (err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &prev)))
			return err;
		prev.e_len += n;
		return ext2fs_extent_replace(h, 0, &prev);
	}
	if ((err = ext2fs_extent_goto2(h, 0, cur)) ||
	    (err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, ext)))
		return err;
	piece = *ext;
	if (head) {
		piece.e_len = head;	/* stays unwritten */
	} else {
		piece.e_len = n;
		piece.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
	}
	if ((err = ext2fs_extent_replace(h, 0, &piece)))
		return err;
	if (head) {
		piece.e_lblk = cur;
		piece.e_pblk = ext->e_pblk + head;
		piece.e_len = n;
		piece.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
		if ((err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &piece)))
			return err;
	}
	if (tail) {
		piece.e_lblk = stop;
		piece.e_pblk = ext->e_pblk + head + n;
		piece.e_len = tail;
		piece.e_flags |= EXT2_EXTENT_FLAGS_UNINIT;
		if ((err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &piece)))
			return err;
	}
	return 0;
}

int ngfs_fmap_mark_written(struct ngfs *nf, ext2_ino_t ino,
			   struct ext2_inode_large *inode, blk64_t lblk, blk64_t len)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	blk64_t cur = lblk, end = lblk + len;
	errcode_t err;
	int ret;

	if (!ngfs_inode_extents(inode))
		return 0;
	err = ext2fs_extent_open2(nf->fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return ngfs_errno(nf, err, "mark_written", ino);
	while (cur < end && !err) {
		blk64_t ext_end, stop;

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
		stop = end < ext_end ? end : ext_end;
		err = convert_range(h, &ext, cur, stop);
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

	if (!ngfs_inode_extents(inode))
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
/*
 * Unmap [start, end] of a block-mapped file.  ext2fs_punch (1.47) cannot
 * do this for a range that ends before EOF: ind_punch hands each lower
 * level "count - offset" blocks, which wraps around, and a 3-block punch at
 * block 533 of an ext3 file with 1 KiB blocks freed the rest of that
 * indirect block's 256.  So the data blocks are unmapped here with one
 * block walk; indirect blocks left empty stay allocated (valid for
 * e2fsck), as ext2fs_punch used to the end frees them.
 */
struct ind_punch {
	blk64_t start, end, freed;
};

static int unmap_ind_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
			   blk64_t ref_blk, int ref_offset, void *priv)
{
	struct ind_punch *p = priv;

	(void)ref_blk;
	(void)ref_offset;
	if (blockcnt < 0 || (blk64_t)blockcnt < p->start || (blk64_t)blockcnt > p->end)
		return 0;
	ext2fs_block_alloc_stats2(fs, *blocknr, -1);
	*blocknr = 0;
	p->freed++;
	return BLOCK_CHANGED;
}

static errcode_t punch_blockmap_range(struct ngfs *nf, ext2_ino_t ino,
				      struct ext2_inode_large *inode, blk64_t start, blk64_t end)
{
	struct ind_punch p = { .start = start, .end = end };
	errcode_t err;
	int ret;

	/* block_iterate works on the on-disk inode: save ours first, reload after. */
	if ((ret = ngfs_write_inode(nf, ino, inode)))
		return ret;
	err = ext2fs_block_iterate3(nf->fs, ino, 0, NULL, unmap_ind_block, &p);
	if (err)
		return err;
	if ((ret = ngfs_read_inode(nf, ino, inode)))
		return ret;
	return ext2fs_iblk_sub_blocks(nf->fs, (struct ext2_inode *)inode, p.freed);
}

int ngfs_fmap_punch(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		    blk64_t lblk, blk64_t len)
{
	errcode_t err;
	int ret;

	if (!len)
		return 0;
	/* The whole map first: a punch that stops half-way leaves damage. */
	if (!ngfs_inode_extents(inode) && (ret = ngfs_write_inode(nf, ino, inode)))
		return ret;
	if ((ret = ngfs_validate_blocks(nf, ino, inode, "punch")))
		return ret;
	if (!ngfs_inode_extents(inode) && len != ~0ULL && lblk + len > lblk) {
		err = punch_blockmap_range(nf, ino, inode, lblk, lblk + len - 1);
		goto done;
	}
	err = free_last_fs_block(nf, ino, inode, lblk, len == ~0ULL ? ~0ULL : lblk + len - 1);
	if (!err)
		err = ext2fs_punch(nf->fs, ino, (struct ext2_inode *)inode, NULL, lblk,
			   len == ~0ULL ? ~0ULL : lblk + len - 1);
done:
	nf->dirty = 1;
	ret = ngfs_write_inode(nf, ino, inode);
	if (err)
		return ngfs_errno(nf, err, "punch", ino);
	return ret;
}
