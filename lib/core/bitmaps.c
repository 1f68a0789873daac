/*
 * bitmaps.c: loading the allocation bitmaps of a read-write mount.
 *
 * When: at mount for small filesystems, at the first change for large ones
 * (ngfs_need_bitmaps, called by every path that allocates or frees).  How:
 * the bitmap blocks prefetched in one go, read into flat bit arrays, then
 * turned into red-black trees run by run.  A guard catches a bitmap that
 * changed before the load.
 */
#include <errno.h>
#include <stdio.h>
#include <et/com_err.h>

#include "core/ngfs.h"

/*
 * ext2fs_read_bitmaps reads one bitmap block at a time, waiting for each:
 * on a 1 TiB filesystem that is hundreds of serial reads and most of the
 * mount.  Ask for all of them at once first (flex_bg packs them in runs),
 * so the device works on them in parallel and those reads hit the cache.
 */
static void prefetch_bitmaps(ext2_filsys fs)
{
	unsigned int bs = fs->blocksize;
	blk64_t run = 0, len = 0, b;
	dgrp_t g;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (g = 0; g < fs->group_desc_count; g++) {
			if (pass == 0 && ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT))
				continue;
			if (pass == 1 && ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT))
				continue;
			b = pass == 0 ? ext2fs_block_bitmap_loc(fs, g) :
					ext2fs_inode_bitmap_loc(fs, g);
			if (!b || b >= ext2fs_blocks_count(fs->super))
				continue;	/* damaged: read_bitmaps reports it */
			if (len && b == run + len) {
				len++;
				continue;
			}
			if (len)
				fdio_prefetch(fs->io, run * bs, len * bs);
			run = b;
			len = 1;
		}
	}
	if (len)
		fdio_prefetch(fs->io, run * bs, len * bs);
}

/*
 * The allocation bitmaps live in red-black trees: small for a mostly empty
 * or mostly full filesystem.  But libext2fs fills a tree bit by bit from
 * each group's bitmap block: 90 ms of CPU for the 8,192 groups of a 1 TiB
 * filesystem.  Filling flat bit arrays is a copy, and a tree built from
 * their runs costs time per run, not per bit.  The arrays (a bit per block
 * and per inode) are temporary; past FLAT_BITMAPS_MAX bytes, or with
 * bigalloc's cluster bitmaps, libext2fs fills the trees itself.
 */
#define FLAT_BITMAPS_MAX (64ULL << 20)
/* Up to this many groups (32 GiB of 4 KiB blocks) the bitmaps are read at mount. */
#define EAGER_BITMAP_GROUPS 256

/* The runs of set bits in FLAT[first..last] into a new bitmap of the default (tree) type. */
static errcode_t runs_to_tree(ext2_filsys fs, ext2fs_generic_bitmap flat, int inodes,
			      uint64_t first, uint64_t last, ext2fs_generic_bitmap *tree)
{
	__u64 at = first, set, clear;
	errcode_t err;

	err = inodes ? ext2fs_allocate_inode_bitmap(fs, "inode bitmap", tree) :
		       ext2fs_allocate_block_bitmap(fs, "block bitmap", tree);
	while (!err && at <= last) {
		if (ext2fs_find_first_set_generic_bmap(flat, at, last, &set))
			break;		/* no more set bits */
		if (ext2fs_find_first_zero_generic_bmap(flat, set, last, &clear))
			clear = last + 1;
		/* ranges of a non-cluster bitmap: the block variant serves inodes too */
		ext2fs_mark_block_bitmap_range2(*tree, set, (unsigned int)(clear - set));
		at = clear;
	}
	if (err)
		*tree = NULL;
	return err;
}

static errcode_t load_bitmaps(ext2_filsys fs)
{
	ext2fs_generic_bitmap btree = NULL, itree = NULL;
	errcode_t err;

	if (ext2fs_has_feature_bigalloc(fs->super) ||
	    (ext2fs_blocks_count(fs->super) + fs->super->s_inodes_count) / 8 > FLAT_BITMAPS_MAX)
		return ext2fs_read_bitmaps(fs);
	fs->default_bitmap_type = EXT2FS_BMAP64_BITARRAY;
	err = ext2fs_read_bitmaps(fs);
	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	if (err)
		return err;
	if (runs_to_tree(fs, fs->block_map, 0, fs->super->s_first_data_block,
			 ext2fs_blocks_count(fs->super) - 1, &btree) ||
	    runs_to_tree(fs, fs->inode_map, 1, 1, fs->super->s_inodes_count, &itree)) {
		/* out of memory: the flat arrays work as well, only bigger */
		if (btree)
			ext2fs_free_generic_bmap(btree);
		if (itree)
			ext2fs_free_generic_bmap(itree);
		return 0;
	}
	ext2fs_free_block_bitmap(fs->block_map);
	fs->block_map = btree;
	ext2fs_free_inode_bitmap(fs->inode_map);
	fs->inode_map = itree;
	return 0;
}

/*
 * The allocation bitmaps of a large filesystem are read at the first
 * change, not at mount: like the kernel, which reads a group's bitmaps when
 * it first allocates there, a mount (and a session that only reads) does
 * not pay for them (on a 1 TiB filesystem they were three quarters of the
 * mount).  Every path that allocates or frees comes here first:
 * ngfs_check_writable, the free-time validation, inode and block
 * allocation (validate.c, fmap.c).  Damaged bitmaps make the filesystem
 * read-only from then on, with the reason in the log.
 */
int ngfs_bitmaps_load(struct ngfs *nf, int at_mount)
{
	static char reason[256];
	errcode_t err;

	if (!nf->bitmaps_pending)
		return 0;	/* loaded, or a read-only mount */
	nf->bitmaps_pending = 0;
	prefetch_bitmaps(nf->fs);
	err = load_bitmaps(nf->fs);
	if (err) {
		snprintf(reason, sizeof(reason), "allocation bitmaps are damaged (%s); run e2fsck",
			 error_message(err));
		if (!at_mount)	/* at mount, the mount's message gives the reason */
			ngfs_log("%s: %s; read-only from now on", nf->device, reason);
		nf->readonly = 1;
		nf->ro_reason = reason;
		return EROFS;
	}
	ngfs_claims_scan(nf);	/* bitmaps that lie: claims.c */
	return nf->readonly ? EROFS : 0;
}

int ngfs_need_bitmaps(struct ngfs *nf)
{
	return ngfs_bitmaps_load(nf, 0);
}

/*
 * Nothing may change a bitmap before it is loaded: libext2fs would update
 * the group counts and drop the bitmap change (no bitmap in memory).  A
 * path that skipped ngfs_need_bitmaps is a bug; stop writing before it
 * spreads.
 */
void ngfs_bitmaps_guard(struct ngfs *nf)
{
	if (!nf->fs || !(nf->fs->flags & (EXT2_FLAG_BB_DIRTY | EXT2_FLAG_IB_DIRTY)))
		return;
	ngfs_log("%s: internal error: allocation changed before the bitmaps were loaded; "
		 "read-only from now on", nf->device);
	nf->bitmaps_pending = 0;
	nf->readonly = 1;
	nf->ro_reason = "internal error: allocation before the bitmaps were loaded";
}

/*
 * At a read-write mount, after the errors= policy and the metadata map
 * (the claims scan needs both): small filesystems, and any with orphans to
 * process, read their bitmaps now (a few reads), so that damaged ones make
 * the mount itself read-only; large ones at the first change.  Bitmaps
 * that cannot be loaded at mount leave the handle read-only too: nothing
 * is written, not even the unmount's superblock.
 */
void ngfs_bitmaps_mount(struct ngfs *nf, int now)
{
	if (!now && nf->fs->group_desc_count > EAGER_BITMAP_GROUPS)
		return;
	if (ngfs_bitmaps_load(nf, 1) && !nf->fs->block_map)
		nf->fs->flags &= ~EXT2_FLAG_RW;
}
