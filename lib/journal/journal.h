/*
 * journal: replay of the ext3/ext4 journal (JBD2) at mount.
 *
 * The layer sits between the core and lib/io: it reads the journal through
 * the filesystem's io_channel and writes the replayed blocks through a
 * writable io_channel the caller opens on the same device (lib/io stays the
 * one place that touches the device).  It follows the kernel's recovery:
 * PASS_SCAN finds the last transaction with a valid commit block,
 * PASS_REVOKE collects revoke records, PASS_REPLAY writes every logged block
 * that no later revoke cancels, then the journal superblock is reset.
 *
 * After a replay the caller must re-open the filesystem: the log often holds
 * the superblock, group descriptors and bitmaps.
 */
#ifndef NG_JOURNAL_H
#define NG_JOURNAL_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>

enum journal_state {
	JOURNAL_NONE,		/* no journal, or an empty log: nothing to replay */
	JOURNAL_DIRTY,		/* committed transactions to replay */
	JOURNAL_UNUSABLE,	/* a log we must neither replay nor discard (why says) */
};

struct journal_report {
	enum journal_state state;
	uint32_t first_tid, end_tid;	/* transactions [first_tid, end_tid) */
	unsigned int transactions;	/* committed transactions found */
	uint64_t blocks_written;	/* replayed blocks */
	uint64_t blocks_revoked;	/* logged copies a revoke cancelled */
	uint64_t blocks_bad;		/* logged copies skipped: bad checksum or range */
	int commit_corrupt;		/* a later commit was corrupt: replay stopped there */
	int32_t recorded_errno;		/* s_errno left in the journal superblock */
};

/*
 * Look at FS's journal (read only).  Returns the state; for
 * JOURNAL_UNUSABLE, WHY says what is wrong in words for the user.
 */
enum journal_state journal_probe(ext2_filsys fs, struct journal_report *rep,
				 char *why, size_t len);

/*
 * Replay FS's journal, writing through WIO (same device, opened
 * read-write, block size set).  On success the journal superblock is reset
 * (s_start 0, s_sequence end + 1, s_errno -EINVAL if a commit was corrupt)
 * and the device flushed; the ext4 superblock is left to the caller.
 * Returns 0, or an errcode with WHY filled in.
 */
errcode_t journal_replay(ext2_filsys fs, io_channel wio, struct journal_report *rep,
			 char *why, size_t len);

/* Zero s_errno in the journal superblock once the ext4 superblock has ERROR_FS. */
errcode_t journal_clear_errno(ext2_filsys fs, io_channel wio);

/*
 * Journaled writes (ordered mode).  Own JBD2 writer: Debian's libext2fs
 * 1.47.0 exports no journal API.  While a writer is started, every
 * metadata block libext2fs writes goes into the running transaction
 * (the fdio hook) instead of the device; journal_commit() writes it to
 * the log, makes it durable and writes it home (the log never holds more
 * than the last committed transaction, so no revoke records are needed).  File data is written in place before
 * the commit's first flush (ordered mode).  Blocks freed by the running
 * transaction stay allocated in memory until it commits, so that no
 * committed metadata ever points at a block that already holds new data.
 * All calls with the filesystem lock held.
 */
struct journal_w;

/* Start on FS (rw, after replay: the log must be empty).  WHY on failure. */
errcode_t journal_start(ext2_filsys fs, struct journal_w **jw, char *why, size_t len);
/* The running transaction is large enough to be committed between verbs. */
int journal_wants_commit(const struct journal_w *jw);
/*
 * Give blocks freed by the running transaction back to the in-memory
 * bitmap; the caller then writes the bitmaps, descriptors and superblock
 * (ext2fs_flush2, captured by the hook) and calls journal_commit().
 */
void journal_release_frees(struct journal_w *jw);
/* Blocks one commit carries atomically: a verb must stay below it to be atomic. */
unsigned int journal_capacity(const struct journal_w *jw);
/* Commit the running transaction (flush, commit block, checkpoint, empty log). */
errcode_t journal_commit(struct journal_w *jw);
/*
 * Empty the log (unless a commit failed), unhook and free; the caller
 * commits first.  *COMMITS: how many commits there were.
 */
errcode_t journal_stop(struct journal_w *jw, uint64_t *commits);

#endif
