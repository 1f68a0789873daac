/*
 * checkpoint.c: after a commit, the logged blocks go to their home
 * locations and the log is emptied (jbd2.md 8.4).  Own JBD2 writer code:
 * Debian's libext2fs 1.47.0 exports no journal API.
 *
 * Checkpointing at once after every commit keeps the writer simple and
 * needs no revoke records: the log holds only the last committed
 * transaction, whose home copies are written (and flushed by the next
 * commit's first flush).  A block that transaction logged and freed may be
 * reused as data at once: a replay writes the logged image over a block
 * that is free in the replayed state, and the next commit takes the old
 * transaction out of the log before it makes the new owner durable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/fdio.h"
#include "journal/jbd2.h"
#include "journal/journal.h"
#include "journal/jwrite.h"

errcode_t jsb_write(struct journal_w *jw, uint32_t start, uint32_t sequence)
{
	unsigned char *sb = jw->j.jsb;

	jbd2_put_be32(sb + JSB_START, start);
	jbd2_put_be32(sb + JSB_SEQUENCE, sequence);
	if (jw->j.csum >= 2)
		jbd2_put_be32(sb + JSB_CHECKSUM, jsb_checksum(sb));
	return fdio_raw_write(jw->io, jw->j.sb_pblk, jw->j.bs, sb) ? EXT2_ET_SHORT_WRITE : 0;
}

errcode_t tx_checkpoint(struct journal_w *jw, size_t from, size_t n)
{
	size_t i;

	for (i = from; i < from + n; i++)
		if (fdio_home_write(jw->io, jw->blocks[i].blk, jw->j.bs, jw->blocks[i].data))
			return EXT2_ET_SHORT_WRITE;
	return 0;
}

/*
 * libext2fs rewrites every bitmap and descriptor block at a flush; only
 * those whose image differs from the device (which holds exactly the last
 * committed state: we checkpoint synchronously) belong in the transaction.
 */
static void drop_unchanged(struct journal_w *jw)
{
	unsigned char *cur = malloc(jw->j.bs);
	size_t i, kept = 0;

	if (!cur)
		return;
	for (i = 0; i < jw->nblocks; i++) {
		struct tx_block *b = &jw->blocks[i];
		if (b->blk == TX_DROPPED ||
		    (!fdio_raw_read(jw->io, b->blk, jw->j.bs, cur) &&
		     !memcmp(cur, b->data, jw->j.bs))) {
			free(b->data);
			continue;
		}
		jw->blocks[kept++] = *b;
	}
	free(cur);
	jw->nblocks = kept;
	/* rebuild the index */
	{
		size_t n = jw->nblocks;
		memset(jw->slots, 0, jw->nslots * sizeof(*jw->slots));
		jw->nblocks = 0;
		for (i = 0; i < n; i++) {
			size_t s = (size_t)((jw->blocks[i].blk * 0x9E3779B97F4A7C15ULL) >> 20) &
				   (jw->nslots - 1);
			while (jw->slots[s])
				s = (s + 1) & (jw->nslots - 1);
			jw->slots[s] = ++jw->nblocks;
		}
	}
}

errcode_t journal_commit(struct journal_w *jw)
{
	size_t from, n;
	errcode_t err = 0;

	if (jw->broken)
		return EXT2_ET_SHORT_WRITE;
	drop_unchanged(jw);
	/* The dirty groups' bitmaps and descriptors are in the transaction now (or unchanged). */
	tx_clear_dirty_groups(jw);
	jw->free_seen = ext2fs_free_blocks_count(jw->fs->super);
	if (!jw->nblocks)	/* fsync with no metadata change: the data only */
		return fdio_sync(jw->io) ? EXT2_ET_SHORT_WRITE : 0;
	/*
	 * Truncates and deletes too large for one transaction are split by
	 * the core itself, crash-safe through the orphan list (split.c).  A
	 * transaction that still outgrew the log is split here: each part is
	 * atomic, the whole is not.
	 */
	for (from = 0; from < jw->nblocks && !err; from += n) {
		n = jw->nblocks - from < jw->capacity ? jw->nblocks - from : jw->capacity;
		if ((err = tx_write_log(jw, from, n)))
			break;
		jw->tid++;
		/* Home copies now; the next commit's first flush makes them durable. */
		if ((err = tx_checkpoint(jw, from, n)))
			break;
	}
	if (err)
		jw->broken = 1;	/* the device failed: stop writing, the log replays */
	tx_reset(jw);
	return err;
}

/* Unmount: the home copies durable, then an empty log (s_start 0). */
errcode_t tx_empty_log(struct journal_w *jw)
{
	errcode_t err;

	if (jw->broken || !jw->live)
		return 0;
	if ((err = fdio_sync(jw->io) ? EXT2_ET_SHORT_WRITE : 0) ||
	    (err = jsb_write(jw, 0, jw->tid)) ||
	    (err = fdio_sync(jw->io) ? EXT2_ET_SHORT_WRITE : 0))
		return err;
	jw->live = 0;
	return 0;
}
