/*
 * recovery.c: JBD2 journal replay (PASS_SCAN, PASS_REVOKE, PASS_REPLAY), as
 * the kernel's jbd2 does it at mount.  Own code: Debian's libext2fs 1.47.0
 * exports no journal API, and e2fsprogs' recovery.c was read for facts only.
 *
 * Rules kept from the kernel:
 *  - a transaction counts only with a valid commit block; the log ends at
 *    the first block without the magic or with an unexpected sequence;
 *  - a bad descriptor or revoke checksum is not an error yet (a lazily
 *    initialised journal holds stale blocks): the next commit block decides,
 *    by its time stamp, between "stale, end of log" and "corrupt, fail";
 *  - a bad commit checksum ends the log there (the transaction is dropped,
 *    s_errno records -EINVAL); earlier transactions are replayed;
 *  - a logged block whose tag checksum fails is skipped, the rest replayed;
 *  - a revoke in transaction R cancels copies of that block in R and every
 *    earlier transaction.
 * Deviation (safety): a logged block outside the filesystem is never
 * written; it is counted like a block with a bad checksum.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal/jbd2.h"
#include "journal/journal.h"
#include "journal/jload.h"

#ifndef EFSBADCRC
#define EFSBADCRC EBADMSG
#endif

void journal_free(struct journal *j)
{
	free(j->jsb);
	free(j->buf);
	free(j->data);
	free(j->rv);
}

/* The inode the journal lives in passes e2fsck's checks. */
static int journal_inode_ok(struct journal *j, const struct ext2_inode *inode)
{
	uint64_t blocks = EXT2_I_SIZE(inode) / j->bs;

	return inode->i_links_count && LINUX_S_ISREG(inode->i_mode) &&
	       blocks >= JBD2_MIN_JOURNAL_BLOCKS && blocks <= (1U << 30);
}

/*
 * The superblock's copy of the journal inode's block map (s_jnl_blocks),
 * for a journal inode that is damaged: e2fsck falls back to it as well.
 */
static int backup_journal_inode(struct journal *j, struct ext2_inode *inode)
{
	struct ext2_super_block *sb = j->fs->super;
	struct ext3_extent_header *eh = (struct ext3_extent_header *)inode->i_block;

	if (sb->s_jnl_backup_type != EXT3_JNL_BACKUP_BLOCKS)
		return -1;
	memset(inode, 0, sizeof(*inode));
	memcpy(inode->i_block, sb->s_jnl_blocks, sizeof(inode->i_block));
	inode->i_size_high = sb->s_jnl_blocks[15];
	inode->i_size = sb->s_jnl_blocks[16];
	inode->i_links_count = 1;
	inode->i_mode = LINUX_S_IFREG | 0600;
	if (ext2fs_le16_to_cpu(eh->eh_magic) == EXT3_EXT_MAGIC)
		inode->i_flags |= EXT4_EXTENTS_FL;
	return journal_inode_ok(j, inode) ? 0 : -1;
}

/*
 * The journal is inode s_journal_inum.  Its blocks are mapped one at a
 * time when read (read_log): a hostile i_size costs nothing that way.
 */
static int journal_inode(struct journal *j, char *why, size_t len)
{
	ext2_filsys fs = j->fs;

	j->ino = fs->super->s_journal_inum;
	if (!j->ino || j->ino > fs->super->s_inodes_count) {
		snprintf(why, len, "the journal inode number %u is invalid", j->ino);
		return -1;
	}
	if ((ext2fs_read_inode(fs, j->ino, &j->inode) || !journal_inode_ok(j, &j->inode)) &&
	    backup_journal_inode(j, &j->inode)) {
		snprintf(why, len, "the journal inode %u is damaged", j->ino);
		return -1;
	}
	j->nblocks = EXT2_I_SIZE(&j->inode) / j->bs;
	return 0;
}

/* Journal block JBLK: where the journal inode maps it, inside the filesystem. */
static errcode_t read_log(struct journal *j, uint32_t jblk, unsigned char *buf)
{
	blk64_t pblk = 0;

	if (jblk >= j->nblocks || ext2fs_bmap2(j->fs, j->ino, &j->inode, NULL, 0, jblk, NULL,
					      &pblk))
		return EXT2_ET_BAD_BLOCK_NUM;
	if (pblk < j->fs->super->s_first_data_block || pblk >= ext2fs_blocks_count(j->fs->super))
		return EXT2_ET_BAD_BLOCK_NUM;	/* a hole, or outside the filesystem */
	if (jblk == 0)
		j->sb_pblk = pblk;
	return io_channel_read_blk64(j->io, pblk, 1, buf);
}

static uint32_t wrap(struct journal *j, uint32_t blk)
{
	if (blk >= j->last)
		blk -= j->last - j->first;
	return blk;
}

uint32_t jsb_checksum(const unsigned char *sb)
{
	static const unsigned char zero[4];
	uint32_t c = ext2fs_crc32c_le(~0U, sb, JSB_CHECKSUM);

	c = ext2fs_crc32c_le(c, zero, 4);
	return ext2fs_crc32c_le(c, sb + JSB_CHECKSUM + 4, JSB_CSUM_LEN - JSB_CHECKSUM - 4);
}

/* Journal superblock: the checks of e2fsck and jbd2 at load. */
static int load_superblock(struct journal *j, char *why, size_t len)
{
	unsigned char *sb = j->jsb;
	uint32_t type, nfc = 0;

	if (read_log(j, 0, sb)) {
		snprintf(why, len, "the journal superblock cannot be read");
		return -1;
	}
	type = jbd2_be32(sb + JBD2_HDR_TYPE);
	if (jbd2_be32(sb + JBD2_HDR_MAGIC) != JBD2_MAGIC ||
	    (type != JBD2_SUPERBLOCK_V1 && type != JBD2_SUPERBLOCK_V2)) {
		snprintf(why, len, "the journal superblock is corrupt (bad magic or type)");
		return -1;
	}
	if (type == JBD2_SUPERBLOCK_V2) {
		j->compat = jbd2_be32(sb + JSB_COMPAT);
		j->incompat = jbd2_be32(sb + JSB_INCOMPAT);
		if (jbd2_be32(sb + JSB_RO_COMPAT)) {
			snprintf(why, len, "the journal has unknown read-only features 0x%x",
				 jbd2_be32(sb + JSB_RO_COMPAT));
			return -1;
		}
	}
	if (j->incompat & ~JBD2_INCOMPAT_KNOWN) {
		snprintf(why, len, "the journal has unknown features 0x%x",
			 j->incompat & ~JBD2_INCOMPAT_KNOWN);
		return -1;
	}
	if ((j->incompat & JBD2_INCOMPAT_CSUM_V2) && (j->incompat & JBD2_INCOMPAT_CSUM_V3)) {
		snprintf(why, len, "the journal claims checksums v2 and v3 at once");
		return -1;
	}
	if (j->incompat & (JBD2_INCOMPAT_CSUM_V2 | JBD2_INCOMPAT_CSUM_V3)) {
		if (j->compat & JBD2_COMPAT_CHECKSUM) {
			snprintf(why, len, "the journal claims checksums v1 and v2/v3 at once");
			return -1;
		}
		if (sb[JSB_CSUM_TYPE] != JBD2_CSUM_TYPE_CRC32C) {
			snprintf(why, len, "the journal checksum type %u is unknown", sb[JSB_CSUM_TYPE]);
			return -1;
		}
		if (jsb_checksum(sb) != jbd2_be32(sb + JSB_CHECKSUM)) {
			snprintf(why, len, "the journal superblock checksum is wrong");
			return -1;
		}
		j->csum = (j->incompat & JBD2_INCOMPAT_CSUM_V3) ? 3 : 2;
		j->seed = ext2fs_crc32c_le(~0U, sb + JSB_UUID, 16);
		j->tail = JBD2_TAIL_SIZE;
	} else if (j->compat & JBD2_COMPAT_CHECKSUM) {
		j->csum = 1;
	}
	if (jbd2_be32(sb + JSB_BLOCKSIZE) != j->bs) {
		snprintf(why, len, "the journal block size %u differs from the filesystem's %u",
			 jbd2_be32(sb + JSB_BLOCKSIZE), j->bs);
		return -1;
	}
	j->maxlen = jbd2_be32(sb + JSB_MAXLEN);
	j->first = jbd2_be32(sb + JSB_FIRST);
	j->sequence = jbd2_be32(sb + JSB_SEQUENCE);
	j->start = jbd2_be32(sb + JSB_START);
	if (j->maxlen > j->nblocks || j->maxlen < JBD2_MIN_JOURNAL_BLOCKS) {
		snprintf(why, len, "the journal length %u does not match its inode (%u blocks)",
			 j->maxlen, j->nblocks);
		return -1;
	}
	j->last = j->maxlen;
	if (j->incompat & JBD2_INCOMPAT_FAST_COMMIT) {
		/* The kernel wraps the log before the fast-commit area. */
		nfc = jbd2_be32(sb + JSB_NUM_FC_BLKS);
		if (!nfc)
			nfc = JBD2_DEFAULT_FC_BLOCKS;
		if (nfc >= j->maxlen || j->maxlen - nfc < JBD2_MIN_JOURNAL_BLOCKS) {
			snprintf(why, len, "the journal's fast-commit area (%u blocks) is too large", nfc);
			return -1;
		}
		j->last = j->maxlen - nfc;
	}
	if (j->first < 1 || j->first >= j->last) {
		snprintf(why, len, "the journal's first log block %u is out of range", j->first);
		return -1;
	}
	if (j->start && (j->start < j->first || j->start >= j->last)) {
		snprintf(why, len, "the journal's log start %u is out of range", j->start);
		return -1;
	}
	if (j->csum == 3)
		j->tag_bytes = 16;
	else
		j->tag_bytes = 8 + (j->csum == 2 ? 2 : 0) +
			       ((j->incompat & JBD2_INCOMPAT_64BIT) ? 4 : 0);
	return 0;
}

/* v2/v3 descriptor and revoke blocks: crc32c of the block with the tail zeroed. */
static int tail_ok(struct journal *j, const unsigned char *b)
{
	static const unsigned char zero[JBD2_TAIL_SIZE];
	uint32_t c;

	if (j->csum < 2)
		return 1;
	c = ext2fs_crc32c_le(j->seed, b, j->bs - JBD2_TAIL_SIZE);
	c = ext2fs_crc32c_le(c, zero, JBD2_TAIL_SIZE);
	return c == jbd2_be32(b + j->bs - JBD2_TAIL_SIZE);
}

static int commit_v23_ok(struct journal *j, const unsigned char *b)
{
	static const unsigned char zero[4];
	uint32_t c = ext2fs_crc32c_le(j->seed, b, COMMIT_CSUM);

	c = ext2fs_crc32c_le(c, zero, 4);
	c = ext2fs_crc32c_le(c, b + COMMIT_CSUM + 4, j->bs - COMMIT_CSUM - 4);
	return c == jbd2_be32(b + COMMIT_CSUM);
}

static int tag_ok(struct journal *j, const unsigned char *tag, uint32_t tid,
		  const unsigned char *data)
{
	unsigned char seq[4];
	uint32_t c;

	if (j->csum < 2)
		return 1;
	jbd2_put_be32(seq, tid);
	c = ext2fs_crc32c_le(j->seed, seq, 4);
	c = ext2fs_crc32c_le(c, data, j->bs);
	if (j->csum == 3)
		return c == jbd2_be32(tag + TAG3_CSUM);
	return (c & 0xFFFF) == jbd2_be16(tag + TAG_CSUM16);
}

/*
 * Tags of a descriptor: call with *off = 0 first; returns the next tag or
 * NULL at the end (LAST_TAG seen, or no room before the tail).
 */
static const unsigned char *next_tag(struct journal *j, const unsigned char *desc,
				     size_t *off, int *done)
{
	const unsigned char *tag;
	uint16_t flags;

	if (!*off)
		*off = JBD2_HDR_SIZE;
	if (*done || *off + j->tag_bytes > j->bs - j->tail)
		return NULL;
	tag = desc + *off;
	flags = jbd2_be16(tag + TAG_FLAGS);
	*off += j->tag_bytes;
	if (!(flags & TAG_FLAG_SAME_UUID))
		*off += TAG_UUID_BYTES;
	if (flags & TAG_FLAG_LAST)
		*done = 1;
	return tag;
}

static unsigned int count_tags(struct journal *j, const unsigned char *desc)
{
	size_t off = 0;
	int done = 0;
	unsigned int n = 0;

	while (next_tag(j, desc, &off, &done))
		n++;
	return n;
}

static uint64_t tag_blocknr(struct journal *j, const unsigned char *tag)
{
	uint64_t b = jbd2_be32(tag + TAG_BLOCKNR);

	if (j->incompat & JBD2_INCOMPAT_64BIT)
		b |= (uint64_t)jbd2_be32(tag + TAG_BLOCKNR_HIGH) << 32;
	return b;
}

/* Header of log block BLK for the walk at TID: its type, or 0 (end of log). */
static int block_type(struct journal *j, const unsigned char *b, uint32_t tid)
{
	if (jbd2_be32(b + JBD2_HDR_MAGIC) != JBD2_MAGIC || jbd2_be32(b + JBD2_HDR_SEQ) != tid)
		return 0;
	return (int)jbd2_be32(b + JBD2_HDR_TYPE);
}

/*
 * PASS_SCAN: find j->end, the first tid without a valid commit.
 * Returns 0, or EFSBADCRC when a committed transaction has a bad
 * descriptor or revoke checksum (the whole recovery fails, as the kernel's).
 */
static errcode_t pass_scan(struct journal *j, struct journal_report *rep, char *why,
			   size_t len)
{
	uint32_t tid = j->sequence, blk = j->start, crc = ~0U, n, i;
	uint64_t last_commit_time = 0, steps = 0, log_size = j->last - j->first;
	int suspect = 0;

	for (;;) {
		uint64_t commit_time;
		int type;

		if (++steps > log_size)
			break;	/* a log longer than the journal is not a log */
		if (read_log(j, blk, j->buf)) {
			snprintf(why, len, "journal block %u cannot be read (a hole in the journal "
				 "inode, or outside the filesystem)", blk);
			return EIO;
		}
		blk = wrap(j, blk + 1);
		type = block_type(j, j->buf, tid);
		if (type == JBD2_DESCRIPTOR) {
			if (!tail_ok(j, j->buf))
				suspect = 1;
			n = count_tags(j, j->buf);
			if (j->csum == 1 && !suspect) {
				crc = ext2fs_crc32_be(crc, j->buf, j->bs);
				for (i = 0; i < n; i++) {
					if (read_log(j, wrap(j, blk + i), j->data))
						goto end;
					crc = ext2fs_crc32_be(crc, j->data, j->bs);
				}
			}
			steps += n;
			blk = wrap(j, blk + n);
			continue;
		}
		if (type == JBD2_REVOKE) {
			if (!tail_ok(j, j->buf))
				suspect = 1;
			continue;
		}
		if (type != JBD2_COMMIT)
			break;
		commit_time = jbd2_be64(j->buf + COMMIT_SEC);
		if (suspect) {
			if (commit_time >= last_commit_time) {
				snprintf(why, len, "journal transaction %u has a bad checksum in a "
					 "descriptor or revoke block", tid);
				return EFSBADCRC;
			}
			break;	/* stale blocks of an earlier use of the journal */
		}
		if (j->csum == 1) {
			const unsigned char *c = j->buf;
			uint32_t found = jbd2_be32(c + COMMIT_CSUM);
			int ok = (found == crc && c[COMMIT_CSUM_TYPE] == JBD2_CRC32_CHKSUM &&
				  c[COMMIT_CSUM_SIZE] == JBD2_CRC32_CHKSUM_SIZE) ||
				 (!found && !c[COMMIT_CSUM_TYPE] && !c[COMMIT_CSUM_SIZE]);
			crc = ~0U;
			if (!ok)
				goto bad_commit;
		} else if (j->csum >= 2 && !commit_v23_ok(j, j->buf)) {
			goto bad_commit;
		}
		last_commit_time = commit_time;
		rep->transactions++;
		tid++;
		continue;
bad_commit:
		if (commit_time < last_commit_time)
			break;	/* stale */
		/* Corrupt: this transaction and everything after it is dropped. */
		rep->commit_corrupt = 1;
		break;
	}
end:
	j->end = tid;
	return 0;
}

static size_t revoke_slot(struct journal *j, uint64_t blk)
{
	size_t h = (size_t)((blk * 0x9E3779B97F4A7C15ULL) >> 17) & (j->rv_cap - 1);

	while (j->rv[h].used && j->rv[h].blk != blk)
		h = (h + 1) & (j->rv_cap - 1);
	return h;
}

static int revoke_add(struct journal *j, uint64_t blk, uint32_t tid)
{
	size_t h;

	if ((j->rv_n + 1) * 2 > j->rv_cap) {
		struct revoke_entry *old = j->rv;
		size_t i, oldcap = j->rv_cap;

		j->rv_cap = oldcap ? oldcap * 2 : 256;
		j->rv = calloc(j->rv_cap, sizeof(*j->rv));
		if (!j->rv) {
			j->rv = old;
			j->rv_cap = oldcap;
			return -1;
		}
		for (i = 0; i < oldcap; i++)
			if (old[i].used)
				j->rv[revoke_slot(j, old[i].blk)] = old[i];
		free(old);
	}
	h = revoke_slot(j, blk);
	if (!j->rv[h].used) {
		j->rv[h].used = 1;
		j->rv[h].blk = blk;
		j->rv[h].tid = tid;
		j->rv_n++;
	} else if (tid_after(tid, j->rv[h].tid)) {
		j->rv[h].tid = tid;
	}
	return 0;
}

/* Is the copy of BLK logged in TID cancelled by a revoke in TID or later? */
static int revoked(struct journal *j, uint64_t blk, uint32_t tid)
{
	size_t h;

	if (!j->rv_n)
		return 0;
	h = revoke_slot(j, blk);
	return j->rv[h].used && !tid_after(tid, j->rv[h].tid);
}

/*
 * PASS_REVOKE (WIO NULL) and PASS_REPLAY (WIO set): walk the committed
 * transactions [sequence, end) again.
 */
static errcode_t pass_walk(struct journal *j, io_channel wio, struct journal_report *rep,
			   char *why, size_t len)
{
	uint32_t tid = j->sequence, blk = j->start;
	blk64_t fs_blocks = ext2fs_blocks_count(j->fs->super);
	unsigned int rec = (j->incompat & JBD2_INCOMPAT_64BIT) ? 8 : 4;
	uint64_t steps = 0, log_size = j->last - j->first;

	while (tid != j->end) {
		int type;

		/* PASS_SCAN ended within one turn of the log; so must this walk. */
		if (++steps > log_size) {
			snprintf(why, len, "the journal changed during replay");
			return EIO;
		}

		if (read_log(j, blk, j->buf)) {
			snprintf(why, len, "journal block %u cannot be read", blk);
			return EIO;
		}
		blk = wrap(j, blk + 1);
		type = block_type(j, j->buf, tid);
		if (type == JBD2_COMMIT) {
			tid++;
			continue;
		}
		if (type == JBD2_REVOKE) {
			uint32_t count = jbd2_be32(j->buf + REVOKE_COUNT), off;

			if (wio)
				continue;
			if (count > j->bs - j->tail || count < REVOKE_RECORDS) {
				snprintf(why, len, "journal transaction %u has a revoke block with "
					 "an invalid record count %u", tid, count);
				return EINVAL;
			}
			for (off = REVOKE_RECORDS; off + rec <= count; off += rec) {
				uint64_t b = rec == 8 ? jbd2_be64(j->buf + off) : jbd2_be32(j->buf + off);
				if (revoke_add(j, b, tid)) {
					snprintf(why, len, "out of memory for the revoke table");
					return ENOMEM;
				}
			}
			continue;
		}
		if (type == JBD2_DESCRIPTOR) {
			const unsigned char *tag;
			size_t off = 0;
			int done = 0;

			if (!wio) {
				blk = wrap(j, blk + count_tags(j, j->buf));
				continue;
			}
			if (!tail_ok(j, j->buf)) {
				snprintf(why, len, "journal transaction %u: descriptor checksum "
					 "changed during replay", tid);
				return EFSBADCRC;
			}
			while ((tag = next_tag(j, j->buf, &off, &done))) {
				uint64_t b = tag_blocknr(j, tag);
				uint16_t flags = jbd2_be16(tag + TAG_FLAGS);
				uint32_t at = blk;

				blk = wrap(j, blk + 1);
				if (revoked(j, b, tid)) {
					rep->blocks_revoked++;
					continue;
				}
				if (read_log(j, at, j->data)) {
					snprintf(why, len, "journal block %u cannot be read", at);
					return EIO;
				}
				if (!tag_ok(j, tag, tid, j->data) || b >= fs_blocks) {
					rep->blocks_bad++;
					continue;
				}
				if (flags & TAG_FLAG_ESCAPE)
					jbd2_put_be32(j->data, JBD2_MAGIC);
				if (io_channel_write_blk64(wio, b, 1, j->data)) {
					snprintf(why, len, "cannot write block %llu while replaying "
						 "the journal", (unsigned long long)b);
					return EIO;
				}
				rep->blocks_written++;
			}
			continue;
		}
		/* PASS_SCAN walked this far: a change now means the device changed. */
		snprintf(why, len, "the journal changed during replay (block %u)", blk);
		return EIO;
	}
	return 0;
}

static int uuid_is_null_bytes(const unsigned char *u)
{
	int i;

	for (i = 0; i < 16; i++)
		if (u[i])
			return 0;
	return 1;
}

int journal_load(struct journal *j, ext2_filsys fs, io_channel io, char *why,
			size_t len)
{
	memset(j, 0, sizeof(*j));
	j->fs = fs;
	j->io = io;
	j->bs = fs->blocksize;
	j->jsb = malloc(j->bs);
	j->buf = malloc(j->bs);
	j->data = malloc(j->bs);
	if (!j->jsb || !j->buf || !j->data) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	if (ext2fs_has_feature_journal_dev(fs->super) ||
	    !uuid_is_null_bytes(fs->super->s_journal_uuid) || !fs->super->s_journal_inum) {
		snprintf(why, len, "the journal is on an external device, which is not supported");
		return -1;
	}
	if (journal_inode(j, why, len) || load_superblock(j, why, len))
		return -1;
	return 0;
}

/* A fast-commit area whose HEAD names tid END holds records to replay. */
static int fast_commit_pending(struct journal *j)
{
	uint32_t b;

	if (!(j->fs->super->s_feature_compat & NG_COMPAT_FAST_COMMIT) ||
	    !(j->incompat & JBD2_INCOMPAT_FAST_COMMIT))
		return 0;
	/* The kernel starts the area at last + 1 (block last is unused); accept both. */
	for (b = j->last; b <= j->last + 1 && b < j->maxlen; b++) {
		const unsigned char *p = j->buf;
		if (read_log(j, b, j->buf))
			return 1;	/* unreadable: do not pretend it is empty */
		if ((p[0] | p[1] << 8) == FC_TAG_HEAD &&
		    (uint32_t)(p[8] | p[9] << 8 | p[10] << 16 | (uint32_t)p[11] << 24) == j->end)
			return 1;
	}
	return 0;
}

/* Load and scan: the state, with the report filled in. */
static enum journal_state journal_examine(struct journal *j, ext2_filsys fs, io_channel io,
					  struct journal_report *rep, char *why, size_t len)
{
	memset(rep, 0, sizeof(*rep));
	if (journal_load(j, fs, io, why, len))
		return rep->state = JOURNAL_UNUSABLE;
	rep->recorded_errno = (int32_t)jbd2_be32(j->jsb + JSB_ERRNO);
	rep->first_tid = rep->end_tid = j->sequence;
	if (!j->start)
		return rep->state = JOURNAL_NONE;
	if (pass_scan(j, rep, why, len))
		return rep->state = JOURNAL_UNUSABLE;
	rep->end_tid = j->end;
	if (fast_commit_pending(j)) {
		snprintf(why, len, "the journal holds fast-commit records, which this daemon "
			 "cannot replay; run e2fsck -E journal_only");
		return rep->state = JOURNAL_UNUSABLE;
	}
	return rep->state = JOURNAL_DIRTY;
}

enum journal_state journal_probe(ext2_filsys fs, struct journal_report *rep,
				 char *why, size_t len)
{
	struct journal j;
	enum journal_state st;

	if (!ext2fs_has_feature_journal(fs->super)) {
		memset(rep, 0, sizeof(*rep));
		return rep->state = JOURNAL_NONE;
	}
	st = journal_examine(&j, fs, fs->io, rep, why, len);
	journal_free(&j);
	return st;
}

static errcode_t write_superblock(struct journal *j, io_channel wio)
{
	if (j->csum >= 2)
		jbd2_put_be32(j->jsb + JSB_CHECKSUM, jsb_checksum(j->jsb));
	return io_channel_write_blk64(wio, j->sb_pblk, 1, j->jsb);
}

errcode_t journal_replay(ext2_filsys fs, io_channel wio, struct journal_report *rep,
			 char *why, size_t len)
{
	struct journal j;
	errcode_t err = 0;

	if (journal_examine(&j, fs, wio, rep, why, len) == JOURNAL_UNUSABLE) {
		err = EXT2_ET_JOURNAL_UNSUPP_VERSION;
		goto out;
	}
	if (rep->state == JOURNAL_DIRTY) {
		if ((err = pass_walk(&j, NULL, rep, why, len)) ||
		    (err = pass_walk(&j, wio, rep, why, len)))
			goto out;
		/* Replayed blocks are durable before the log is let go. */
		if ((err = io_channel_flush(wio))) {
			snprintf(why, len, "cannot flush the device after replay");
			goto out;
		}
		/* end + 1: a half-written transaction "end" must never look valid. */
		jbd2_put_be32(j.jsb + JSB_SEQUENCE, j.end + 1);
		jbd2_put_be32(j.jsb + JSB_START, 0);
		if (rep->commit_corrupt && !rep->recorded_errno) {
			rep->recorded_errno = -EINVAL;
			jbd2_put_be32(j.jsb + JSB_ERRNO, (uint32_t)-EINVAL);
		}
		if ((err = write_superblock(&j, wio)) || (err = io_channel_flush(wio)))
			snprintf(why, len, "cannot write the journal superblock");
	}
out:
	journal_free(&j);
	return err;
}

errcode_t journal_clear_errno(ext2_filsys fs, io_channel wio)
{
	struct journal j;
	char why[128];
	errcode_t err = 0;

	if (journal_load(&j, fs, wio, why, sizeof(why)) == 0 && jbd2_be32(j.jsb + JSB_ERRNO)) {
		jbd2_put_be32(j.jsb + JSB_ERRNO, 0);
		err = write_superblock(&j, wio);
		if (!err)
			err = io_channel_flush(wio);
	}
	journal_free(&j);
	return err;
}
