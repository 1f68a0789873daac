/*
 * fscheck.c: "no mapping ever points at filesystem metadata or outside the
 * filesystem", checked in two steps with libext2fs, read-only:
 *
 * 1. Before the daemon starts, the image is opened and its STATIC metadata
 *    is collected: superblocks and group descriptors (with reserved GDT
 *    blocks), bitmaps, inode tables, the journal and resize inodes.  None of
 *    it moves while the daemon runs, so every MAPPED/UNWRITTEN mapping the
 *    daemon hands out (BEGIN replies and UPSERTs) is checked against it and
 *    against the filesystem's size at once, and the test fails on the spot
 *    with the request that produced it.
 *
 * 2. DYNAMIC metadata (extent tree and indirect blocks, directories, xattr
 *    blocks) comes and goes during the run; a data block freed and reused
 *    as an extent block later is legal, so addresses seen earlier cannot be
 *    judged against the final state.  Instead, right before DESTROY the
 *    client walks every file with REPORT and writes the final mappings to a
 *    record file; after the daemon has exited, `client fscheck IMAGE
 *    RECORD` compares each one with libext2fs' own bmap of that inode
 *    (same physical block, unwritten flag as reported, holes unallocated)
 *    and with all metadata of the final image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

#include "flows.h"
#include "kernel.h"

static void set_bit(uint8_t *m, uint64_t b)
{
	m[b >> 3] |= (uint8_t)(1u << (b & 7));
}

static int get_bit(const uint8_t *m, uint64_t b)
{
	return (m[b >> 3] >> (b & 7)) & 1;
}

struct mark_ctx {
	uint8_t *map;
	uint64_t nblocks;
	int all;		/* every block, or only tree/indirect blocks */
};

static int mark_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
		      int ref_offset, void *priv)
{
	struct mark_ctx *c = priv;

	(void)fs; (void)ref_blk; (void)ref_offset;
	if ((c->all || blockcnt < 0) && *blocknr < c->nblocks)
		set_bit(c->map, *blocknr);
	return 0;
}

static void mark_inode(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode,
		       struct mark_ctx *c)
{
	if (ext2fs_file_acl_block(fs, inode) &&
	    ext2fs_file_acl_block(fs, inode) < c->nblocks)
		set_bit(c->map, ext2fs_file_acl_block(fs, inode));
	if (!ext2fs_inode_has_valid_blocks2(fs, inode))
		return;
	ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, mark_block, c);
}

/* Static metadata into a fresh bitmap (one bit per fs block). */
static uint8_t *static_meta(ext2_filsys fs, uint64_t *nblocks)
{
	uint64_t n = ext2fs_blocks_count(fs->super), b;
	uint8_t *m = calloc(n / 8 + 1, 1);
	ext2fs_block_bitmap bm;
	struct mark_ctx c;
	struct ext2_inode inode;

	errcode_t e;

	if (!m)
		fail("fscheck: out of memory");
	e = ext2fs_allocate_block_bitmap(fs, "meta", &bm);
	if (e)
		fail("libext2fs: cannot allocate a block bitmap: %s", error_message(e));
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		ext2fs_reserve_super_and_bgd(fs, g, bm);
		set_bit(m, ext2fs_block_bitmap_loc(fs, g));
		set_bit(m, ext2fs_inode_bitmap_loc(fs, g));
		for (b = 0; b < fs->inode_blocks_per_group; b++)
			set_bit(m, ext2fs_inode_table_loc(fs, g) + b);
	}
	for (b = fs->super->s_first_data_block; b < n; b++)
		if (ext2fs_test_block_bitmap2(bm, b))
			set_bit(m, b);
	for (b = 0; b < fs->super->s_first_data_block; b++)
		set_bit(m, b);
	ext2fs_free_block_bitmap(bm);
	c.map = m;
	c.nblocks = n;
	c.all = 1;
	if (fs->super->s_journal_inum &&
	    !ext2fs_read_inode(fs, fs->super->s_journal_inum, &inode))
		mark_inode(fs, fs->super->s_journal_inum, &inode, &c);
	if (!ext2fs_read_inode(fs, EXT2_RESIZE_INO, &inode))
		mark_inode(fs, EXT2_RESIZE_INO, &inode, &c);
	*nblocks = n;
	return m;
}

void meta_load(struct kernel *k)
{
	ext2_filsys fs;
	errcode_t e;

	e = ext2fs_open(k->image, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (e)
		fail("libext2fs cannot open %s: %s", k->image, error_message(e));
	k->fs_blocksize = fs->blocksize;
	k->meta = static_meta(fs, &k->fs_blocks);
	ext2fs_close_free(&fs);
}

int meta_overlaps(struct kernel *k, uint64_t addr, uint64_t len, char *why, size_t whylen)
{
	uint64_t bs = k->fs_blocksize, b0 = addr / bs, b1 = (addr + len + bs - 1) / bs;

	if (!k->meta)
		return 0;
	if (b1 > k->fs_blocks) {
		snprintf(why, whylen, "outside the filesystem (%llu blocks of %llu)",
			 (unsigned long long)k->fs_blocks, (unsigned long long)bs);
		return 1;
	}
	for (uint64_t b = b0; b < b1; b++) {
		if (get_bit(k->meta, b)) {
			snprintf(why, whylen, "block %llu is filesystem metadata", (unsigned long long)b);
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ after the run */

int fscheck_run(const char *image, const char *record)
{
	ext2_filsys fs;
	ext2_inode_scan scan;
	struct ext2_inode inode;
	ext2_ino_t ino;
	struct mark_ctx c;
	uint64_t n;
	uint8_t *meta;
	FILE *f;
	char line[256];
	errcode_t e;
	long checked = 0, bad = 0;

	e = ext2fs_open(image, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (e)
		fail("fscheck: cannot open %s: %s", image, error_message(e));
	meta = static_meta(fs, &n);
	c.map = meta;
	c.nblocks = n;
	if (ext2fs_open_inode_scan(fs, 0, &scan))
		fail("fscheck: inode scan");
	while (!ext2fs_get_next_inode(scan, &ino, &inode) && ino) {
		if (!inode.i_links_count)
			continue;
		/* regular files: only tree blocks; everything else: all blocks */
		c.all = !LINUX_S_ISREG(inode.i_mode);
		mark_inode(fs, ino, &inode, &c);
	}
	ext2fs_close_inode_scan(scan);
	f = fopen(record, "r");
	if (!f)
		fail("fscheck: %s: %s", record, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long i, lblk, pblk, cnt;
		unsigned type;

		if (sscanf(line, "final %llu %llu %llu %llu %u", &i, &lblk, &pblk, &cnt, &type) != 5)
			continue;
		for (uint64_t j = 0; j < cnt; j++) {
			blk64_t phys = 0;
			int rf = 0;
			checked++;
			e = ext2fs_bmap2(fs, (ext2_ino_t)i, NULL, NULL, 0, lblk + j, &rf, &phys);
			if (e) {
				if (bad < 20) printf("fscheck: inode %llu block %llu: bmap: %s\n", i,
				       (unsigned long long)(lblk + j), error_message(e));
				bad++;
				continue;
			}
			if (type == W_TYPE_HOLE) {
				if (phys) {
					if (bad < 20) printf("fscheck: inode %llu block %llu reported HOLE, image maps it to %llu\n",
					       i, (unsigned long long)(lblk + j), (unsigned long long)phys);
					bad++;
				}
				continue;
			}
			if (phys != pblk + j) {
				if (bad < 20) printf("fscheck: inode %llu block %llu reported at %llu, image has %llu\n",
				       i, (unsigned long long)(lblk + j),
				       (unsigned long long)(pblk + j), (unsigned long long)phys);
				bad++;
			} else if (((rf & BMAP_RET_UNINIT) != 0) != (type == W_TYPE_UNWRITTEN)) {
				if (bad < 20) printf("fscheck: inode %llu block %llu reported %s, image extent is %s\n",
				       i, (unsigned long long)(lblk + j), typename((uint16_t)type),
				       (rf & BMAP_RET_UNINIT) ? "unwritten" : "written");
				bad++;
			}
			if (pblk + j >= n || get_bit(meta, pblk + j)) {
				if (bad < 20) printf("fscheck: inode %llu block %llu mapped to %llu, which is metadata or outside the fs\n",
				       i, (unsigned long long)(lblk + j), (unsigned long long)(pblk + j));
				bad++;
			}
		}
	}
	fclose(f);
	free(meta);
	ext2fs_close_free(&fs);
	printf("fscheck: %ld final block mappings compared with libext2fs, %ld bad\n", checked, bad);
	return bad ? 1 : 0;
}

/* The final REPORT walk written to k->record (see the comment at the top). */
struct rec_ctx {
	struct kernel *k;
	struct kinode *ip;
};

static void rec_cb(void *ctx, const struct kmap *m)
{
	struct rec_ctx *r = ctx;
	uint64_t bs = ibs(r->ip);

	if (m->type == W_TYPE_MAPPED || m->type == W_TYPE_UNWRITTEN || m->type == W_TYPE_HOLE)
		fprintf(r->k->record, "final %llu %llu %llu %llu %u\n",
			(unsigned long long)r->ip->ino, (unsigned long long)(m->offset / bs),
			(unsigned long long)(m->type == W_TYPE_HOLE ? 0 : m->addr / r->k->fs_blocksize),
			(unsigned long long)(m->length / bs), m->type);
}

void record_final(struct kernel *k)
{
	if (!k->record || !k->iomap)
		return;
	for (size_t i = 0; i < k->ninodes; i++) {
		struct kinode *ip = k->inodes[i];
		struct rec_ctx r = { k, ip };
		uint64_t bs = ibs(ip);

		if (!ip->fileio)
			continue;
		vfs_writeback(k, ip);
		/* blocks below i_size (the fs block holding EOF included) */
		vfs_report(k, ip, 0, (ip->size + bs - 1) / bs * bs, rec_cb, &r);
	}
	fflush(k->record);
}
