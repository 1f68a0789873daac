/*
 * jwrite.h: the journal writer's state, shared by transaction.c, commit.c
 * and checkpoint.c.  Internal to lib/journal.
 */
#ifndef NG_JWRITE_H
#define NG_JWRITE_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>

#include "journal/jload.h"

#define TX_DROPPED UINT64_MAX	/* a block that left the transaction */

struct tx_block {
	uint64_t blk;		/* home location */
	unsigned char *data;	/* newest image */
};

struct freed_range {
	blk64_t blk;
	blk64_t count;
};

struct journal_w {
	struct journal j;		/* the loaded journal (jload.h) */
	ext2_filsys fs;
	io_channel io;
	blk64_t *logmap;		/* log block -> device block, j.maxlen entries */
	uint32_t tid;			/* tid of the next commit */
	/* the last committed transaction, still in the log: [live_start, live_end) */
	int live;
	uint32_t live_start, live_end;
	unsigned int capacity;		/* blocks one commit can carry */
	int broken;			/* a commit failed: nothing more is written */
	/* the running transaction: blocks in insertion order, hashed by block */
	struct tx_block *blocks;
	size_t nblocks, cap;
	size_t *slots;			/* index + 1, open addressing; 0 empty */
	size_t nslots;
	/* blocks freed by the running transaction, kept allocated until it commits */
	struct freed_range *freed;
	size_t nfreed, freed_cap;
	blk64_t freed_blocks;
	/* groups whose bitmap the running transaction changed: their bitmap
	 * and descriptor blocks join it only at commit (ext2fs_flush2) */
	unsigned char *group_dirty;
	dgrp_t ngroups, dirty_groups;
	blk64_t free_seen;		/* free-blocks count after the last alloc-stats callback */
	uint64_t range_lost;		/* range callbacks whose range could not be told */
	void (*old_stats)(ext2_filsys, blk64_t, int);
	void (*old_range_stats)(ext2_filsys, blk64_t, blk_t, int);
	uint64_t commits, logged;	/* counters for the log line at unmount */
};

/* transaction.c */
void tx_reset(struct journal_w *jw);
void tx_clear_dirty_groups(struct journal_w *jw);
/* commit.c */
errcode_t tx_write_log(struct journal_w *jw, size_t from, size_t n);
/* checkpoint.c */
errcode_t tx_checkpoint(struct journal_w *jw, size_t from, size_t n);
errcode_t jsb_write(struct journal_w *jw, uint32_t start, uint32_t sequence);
errcode_t tx_empty_log(struct journal_w *jw);

#endif
