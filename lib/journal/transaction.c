/*
 * transaction.c: the running transaction of the journal writer (own JBD2
 * writer code: Debian's libext2fs 1.47.0 exports no journal API).
 *
 * The fdio hook hands us every metadata block libext2fs writes; we keep
 * the newest image of each (read-your-writes through meta_read) until the
 * commit.  Blocks the transaction frees are re-marked in use in the
 * in-memory bitmap until the commit, so that no allocator hands them out
 * as file data while committed metadata still points at them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <et/com_err.h>

#include "array.h"
#include "io/fdio.h"
#include "journal/jbd2.h"
#include "journal/journal.h"
#include "journal/jwrite.h"

/* One process serves one filesystem: the alloc-stats callbacks find us here. */
static struct journal_w *active;

static size_t slot_of(const struct journal_w *jw, uint64_t blk)
{
	return (size_t)((blk * 0x9E3779B97F4A7C15ULL) >> 20) & (jw->nslots - 1);
}

static struct tx_block *tx_find(const struct journal_w *jw, uint64_t blk)
{
	size_t s = slot_of(jw, blk);

	while (jw->slots[s]) {
		struct tx_block *b = &jw->blocks[jw->slots[s] - 1];
		if (b->blk == blk)
			return b;
		s = (s + 1) & (jw->nslots - 1);
	}
	return NULL;
}

static int tx_rehash(struct journal_w *jw, size_t nslots)
{
	size_t *slots = calloc(nslots, sizeof(*slots)), i;

	if (!slots)
		return ENOMEM;
	free(jw->slots);
	jw->slots = slots;
	jw->nslots = nslots;
	for (i = 0; i < jw->nblocks; i++) {
		size_t s = slot_of(jw, jw->blocks[i].blk);
		while (jw->slots[s])
			s = (s + 1) & (jw->nslots - 1);
		jw->slots[s] = i + 1;
	}
	return 0;
}

static int hook_write(void *ctx, uint64_t blk, const void *buf)
{
	struct journal_w *jw = ctx;
	struct tx_block *b;

	if (jw->broken)
		return EIO;
	b = tx_find(jw, blk);
	if (b) {
		memcpy(b->data, buf, jw->j.bs);
		return 0;
	}
	if (ng_array_room(&jw->blocks, &jw->cap, jw->nblocks, sizeof(*jw->blocks), 256))
		return ENOMEM;
	if ((jw->nblocks + 1) * 2 > jw->nslots && tx_rehash(jw, jw->nslots * 2))
		return ENOMEM;
	b = &jw->blocks[jw->nblocks];
	b->blk = blk;
	b->data = malloc(jw->j.bs);
	if (!b->data)
		return ENOMEM;
	memcpy(b->data, buf, jw->j.bs);
	{
		size_t s = slot_of(jw, blk);
		while (jw->slots[s])
			s = (s + 1) & (jw->nslots - 1);
		jw->slots[s] = ++jw->nblocks;
	}
	jw->logged++;
	return 0;
}

static int hook_read(void *ctx, uint64_t blk, void *buf)
{
	struct journal_w *jw = ctx;
	struct tx_block *b = tx_find(jw, blk);

	if (!b)
		return 0;
	memcpy(buf, b->data, jw->j.bs);
	return 1;
}

static int hook_held(void *ctx, uint64_t blk)
{
	return tx_find(ctx, blk) != NULL;
}

/*
 * File data is about to be written over device bytes [off, off+len).  A
 * block of the transaction there was allocated by this transaction (blocks
 * it freed are not reused before the commit), so the committed state has
 * it free: its image (libext2fs' zeroes) can go to the device now, under
 * the data, and the block leaves the transaction (a tombstone keeps the
 * hash chains intact).
 */
static int hook_data_write(void *ctx, uint64_t off, uint64_t len)
{
	struct journal_w *jw = ctx;
	uint64_t blk, last;

	if (!jw->nblocks)
		return 0;
	for (blk = off / jw->j.bs, last = (off + len - 1) / jw->j.bs; blk <= last; blk++) {
		struct tx_block *b = tx_find(jw, blk);
		if (!b)
			continue;
		if (fdio_raw_write(jw->io, blk, jw->j.bs, b->data))
			return EIO;
		b->blk = TX_DROPPED;
	}
	return 0;
}

void tx_reset(struct journal_w *jw)
{
	size_t i;

	for (i = 0; i < jw->nblocks; i++)
		free(jw->blocks[i].data);
	jw->nblocks = 0;
	memset(jw->slots, 0, jw->nslots * sizeof(*jw->slots));
}

static void defer_free(struct journal_w *jw, blk64_t blk, blk64_t count)
{
	if (jw->nfreed && jw->freed[jw->nfreed - 1].blk + jw->freed[jw->nfreed - 1].count == blk) {
		jw->freed[jw->nfreed - 1].count += count;
	} else {
		/* No memory: the block is reusable at once (as before). */
		if (ng_array_room(&jw->freed, &jw->freed_cap, jw->nfreed, sizeof(*jw->freed), 64))
			return;
		jw->freed[jw->nfreed].blk = blk;
		jw->freed[jw->nfreed].count = count;
		jw->nfreed++;
	}
	jw->freed_blocks += count;
	ext2fs_mark_block_bitmap_range2(jw->fs->block_map, blk, count);
	/*
	 * A freed block leaves the transaction: nothing in its final state
	 * points at it, and a logged copy would be replayed over the data its
	 * next owner gets once this transaction has committed (when a crash
	 * lands the next commit block without its journal superblock, this
	 * transaction is replayed again before that one).
	 */
	if (jw->nblocks) {
		blk64_t b;
		for (b = blk; b < blk + count; b++) {
			struct tx_block *t = tx_find(jw, b);
			if (t)
				t->blk = TX_DROPPED;
		}
	}
}

/* Blocks [blk, blk+count) were allocated or freed: their groups' bitmaps are dirty. */
static void dirty_range(struct journal_w *jw, blk64_t blk, blk64_t count)
{
	dgrp_t g, last;

	if (!jw->group_dirty || !count)
		return;
	g = ext2fs_group_of_blk2(jw->fs, blk);
	last = ext2fs_group_of_blk2(jw->fs, blk + count - 1);
	for (; g <= last && g < jw->ngroups; g++)
		if (!jw->group_dirty[g]) {
			jw->group_dirty[g] = 1;
			jw->dirty_groups++;
		}
}

void tx_clear_dirty_groups(struct journal_w *jw)
{
	if (jw->group_dirty)
		memset(jw->group_dirty, 0, jw->ngroups);
	jw->dirty_groups = 0;
}

static void stats_cb(ext2_filsys fs, blk64_t blk, int inuse)
{
	if (active && active->fs == fs && inuse)
		dirty_range(active, blk, 1);
	if (active && active->fs == fs && inuse < 0)
		defer_free(active, blk, 1);
	if (active && active->fs == fs)
		active->free_seen = ext2fs_free_blocks_count(fs->super);
	if (active && active->old_stats)
		active->old_stats(fs, blk, inuse);
}

/*
 * libext2fs up to 1.47.0 (Debian's) calls the range callback with the
 * range already consumed: BLK is one past its end and NUM is 0 (fixed
 * upstream later by passing the original arguments).  The free-blocks
 * count still tells how many blocks it took: every change of that count
 * goes through one of these two callbacks, which note it.  The range is
 * used only if its blocks are all in the state the call left them in.
 * (Range calls come from our extent allocator and its error path; the
 * library's punch frees block by block.)
 */
static void range_stats_cb(ext2_filsys fs, blk64_t blk, blk_t num, int inuse)
{
	struct journal_w *jw = active && active->fs == fs ? active : NULL;

	if (jw && !num && inuse) {
		blk64_t now = ext2fs_free_blocks_count(fs->super);
		blk64_t n = inuse < 0 ? now - jw->free_seen : jw->free_seen - now;

		if (n && n <= blk && n <= now + jw->free_seen &&
		    (inuse > 0 || ext2fs_test_block_bitmap_range2(fs->block_map, blk - n, n))) {
			blk -= n;
			num = n;
		} else {
			jw->range_lost++;
		}
	}
	if (jw && inuse)
		dirty_range(jw, blk, num);
	if (jw && inuse < 0)
		defer_free(jw, blk, num);
	if (jw)
		jw->free_seen = ext2fs_free_blocks_count(fs->super);
	if (active && active->old_range_stats)
		active->old_range_stats(fs, blk, num, inuse);
}

void journal_release_frees(struct journal_w *jw)
{
	size_t i;

	for (i = 0; i < jw->nfreed; i++)
		ext2fs_unmark_block_bitmap_range2(jw->fs->block_map, jw->freed[i].blk,
						  jw->freed[i].count);
	jw->nfreed = 0;
	jw->freed_blocks = 0;
	jw->free_seen = ext2fs_free_blocks_count(jw->fs->super);
}

int journal_wants_commit(const struct journal_w *jw)
{
	blk64_t free = ext2fs_free_blocks_count(jw->fs->super);

	/* A dirty group adds a bitmap block and (at most) a descriptor block at commit. */
	return jw->nblocks + 2 * (size_t)jw->dirty_groups >= jw->capacity / 2 ||
	       (jw->freed_blocks && jw->freed_blocks >= free / 8);
}

unsigned int journal_capacity(const struct journal_w *jw)
{
	return jw->capacity;
}

/* Log blocks one commit of N blocks takes: descriptors, copies, commit block. */
static unsigned int tags_per_descriptor(const struct journal_w *jw)
{
	return (jw->j.bs - JBD2_HDR_SIZE - jw->j.tail - TAG_UUID_BYTES) / jw->j.tag_bytes;
}

static int logmap_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		     blk64_t ref_blk, int ref_offset, void *priv)
{
	struct journal_w *jw = priv;

	if (blockcnt >= 0 && (uint64_t)blockcnt < jw->j.maxlen)
		jw->logmap[blockcnt] = *blocknr;
	return 0;
}

errcode_t journal_start(ext2_filsys fs, struct journal_w **out, char *why, size_t len)
{
	struct journal_w *jw = calloc(1, sizeof(*jw));
	struct fdio_hook hook;
	uint32_t i, incompat, tpd, room;
	errcode_t err;

	*out = NULL;
	if (!jw) {
		snprintf(why, len, "out of memory");
		return EXT2_ET_NO_MEMORY;
	}
	if (journal_load(&jw->j, fs, fs->io, why, len)) {
		err = EXT2_ET_JOURNAL_UNSUPP_VERSION;
		goto fail;
	}
	if (jw->j.start) {
		snprintf(why, len, "the journal is not empty");
		err = EXT2_ET_JOURNAL_UNSUPP_VERSION;
		goto fail;
	}
	if (jbd2_be32(jw->j.jsb + JBD2_HDR_TYPE) != JBD2_SUPERBLOCK_V2) {
		snprintf(why, len, "the journal superblock is version 1");
		err = EXT2_ET_JOURNAL_UNSUPP_VERSION;
		goto fail;
	}
	jw->fs = fs;
	jw->io = fs->io;
	jw->tid = jw->j.sequence + 1;
	/* The format we write (jbd2.md 8.2): 64-bit tags with 64bit, no async commit, no fast commit. */
	incompat = jw->j.incompat & ~(JBD2_INCOMPAT_ASYNC_COMMIT | JBD2_INCOMPAT_FAST_COMMIT);
	if (ext2fs_has_feature_64bit(fs->super))
		incompat |= JBD2_INCOMPAT_64BIT;
	/* jbd2.md 8.2: a metadata_csum filesystem gets checksums v3 when the journal has none. */
	if (!jw->j.csum && ext2fs_has_feature_metadata_csum(fs->super)) {
		incompat |= JBD2_INCOMPAT_CSUM_V3;
		jw->j.jsb[JSB_CSUM_TYPE] = JBD2_CSUM_TYPE_CRC32C;
		jw->j.csum = 3;
		jw->j.seed = ext2fs_crc32c_le(~0U, jw->j.jsb + JSB_UUID, 16);
		jw->j.tail = JBD2_TAIL_SIZE;
	}
	jw->j.incompat = incompat;
	jbd2_put_be32(jw->j.jsb + JSB_INCOMPAT, incompat);
	/* The fast-commit area is log space again once the feature is off. */
	jw->j.last = jw->j.maxlen;
	if (jw->j.csum == 3)
		jw->j.tag_bytes = 16;
	else
		jw->j.tag_bytes = 8 + (jw->j.csum == 2 ? 2 : 0) +
				  ((incompat & JBD2_INCOMPAT_64BIT) ? 4 : 0);
	jw->logmap = calloc(jw->j.maxlen, sizeof(*jw->logmap));
	if (!jw->logmap) {
		snprintf(why, len, "out of memory");
		err = EXT2_ET_NO_MEMORY;
		goto fail;
	}
	/*
	 * One walk of the journal inode's map (ext2fs_bmap2 per block walked
	 * the extent tree from the top, verifying checksums, for every block:
	 * 3 s at mount for the 1 GiB journal of a 1 TiB filesystem).
	 */
	err = ext2fs_block_iterate3(fs, jw->j.ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
				    NULL, logmap_cb, jw);
	for (i = 0; i < jw->j.maxlen; i++) {
		if (err || jw->logmap[i] < fs->super->s_first_data_block ||
		    jw->logmap[i] >= ext2fs_blocks_count(fs->super)) {
			snprintf(why, len, "journal block %u is not mapped inside the filesystem", i);
			err = EXT2_ET_BAD_BLOCK_NUM;
			goto fail;
		}
	}
	tpd = tags_per_descriptor(jw);
	room = jw->j.last - jw->j.first - 4;	/* commit block and slack */
	jw->capacity = (uint64_t)room * tpd / (tpd + 1);
#ifdef NG_CRASH_RECORDER
	/* Test build only: a small transaction limit, to crash inside split verbs. */
	if (getenv("FUSE2FS_CRASH_JCAP") && atoi(getenv("FUSE2FS_CRASH_JCAP")) >= 16 &&
	    (unsigned int)atoi(getenv("FUSE2FS_CRASH_JCAP")) < jw->capacity)
		jw->capacity = atoi(getenv("FUSE2FS_CRASH_JCAP"));
#endif
	jw->ngroups = fs->group_desc_count;
	jw->group_dirty = calloc(jw->ngroups ? jw->ngroups : 1, 1);
	jw->nslots = 1024;
	jw->slots = calloc(jw->nslots, sizeof(*jw->slots));
	if (!jw->slots || !jw->group_dirty) {
		err = EXT2_ET_NO_MEMORY;
		snprintf(why, len, "out of memory");
		goto fail;
	}
	/*
	 * Our features in the journal superblock now (the log stays empty).
	 * No flush of its own: the first commit's first flush makes it durable
	 * before any commit block is written, and until then either copy
	 * describes an empty log (one device flush less per mount).
	 */
	if ((err = jsb_write(jw, 0, jw->tid))) {
		snprintf(why, len, "cannot write the journal superblock: %s", error_message(err));
		goto fail;
	}
	ext2fs_set_block_alloc_stats_callback(fs, stats_cb, &jw->old_stats);
	ext2fs_set_block_alloc_stats_range_callback(fs, range_stats_cb, &jw->old_range_stats);
	active = jw;
	jw->free_seen = ext2fs_free_blocks_count(fs->super);
	hook.block_size = jw->j.bs;
	hook.meta_write = hook_write;
	hook.meta_read = hook_read;
	hook.data_write = hook_data_write;
	hook.held = hook_held;
	hook.ctx = jw;
	fdio_set_hook(fs->io, &hook);
	*out = jw;
	return 0;
fail:
	journal_free(&jw->j);
	free(jw->slots);
	free(jw->group_dirty);
	free(jw->logmap);
	free(jw);
	return err;
}

errcode_t journal_stop(struct journal_w *jw, uint64_t *commits_out)
{
	uint64_t commits = jw->commits;
	errcode_t err = tx_empty_log(jw);
	void (*old)(ext2_filsys, blk64_t, int);
	void (*old_range)(ext2_filsys, blk64_t, blk_t, int);

	fdio_set_hook(jw->io, NULL);
	journal_release_frees(jw);
	ext2fs_set_block_alloc_stats_callback(jw->fs, jw->old_stats, &old);
	ext2fs_set_block_alloc_stats_range_callback(jw->fs, jw->old_range_stats, &old_range);
	active = NULL;
	tx_reset(jw);
	free(jw->blocks);
	free(jw->slots);
	free(jw->freed);
	free(jw->group_dirty);
	free(jw->logmap);
	journal_free(&jw->j);
	free(jw);
	*commits_out = commits;
	return err;
}
