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

#endif
