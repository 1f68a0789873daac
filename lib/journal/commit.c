/*
 * commit.c: writing one transaction to the log, as jbd2.md 8.3 lists it.
 * Own JBD2 writer code: Debian's libext2fs 1.47.0 exports no journal API.
 *
 * The log holds at most one committed transaction, already written home
 * (checkpoint.c).  The next one goes right after it, or at s_first when it
 * does not fit before the end; it never wraps and never overlaps the live
 * one (if it would, the log is emptied first):
 *   [descriptor, copies...]..., flush (the previous transaction's home
 *   copies, ordered data, the log), journal superblock (s_start, s_sequence
 *   = this transaction) and commit block, flush.  Only then is it committed.
 * If the commit block is durable and the superblock is not, the superblock
 * still names the previous transaction, which is followed directly by
 * this one (same tid + 1): the scan replays both.  If the superblock is
 * durable and the commit block not, nothing is replayed, and the previous
 * transaction's home copies were flushed before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/fdio.h"
#include "journal/jbd2.h"
#include "journal/journal.h"
#include "journal/jwrite.h"

static errcode_t log_write(struct journal_w *jw, uint32_t lblk, const unsigned char *buf)
{
	int err = fdio_raw_write(jw->io, jw->logmap[lblk], jw->j.bs, buf);

	return err ? EXT2_ET_SHORT_WRITE : 0;
}

static void put_tail_csum(struct journal_w *jw, unsigned char *b)
{
	if (jw->j.csum < 2)
		return;
	/* crc32c of the whole block, its tail zeroed */
	memset(b + jw->j.bs - JBD2_TAIL_SIZE, 0, JBD2_TAIL_SIZE);
	jbd2_put_be32(b + jw->j.bs - JBD2_TAIL_SIZE, ext2fs_crc32c_le(jw->j.seed, b, jw->j.bs));
}

static void put_header(unsigned char *b, uint32_t type, uint32_t tid)
{
	jbd2_put_be32(b + JBD2_HDR_MAGIC, JBD2_MAGIC);
	jbd2_put_be32(b + JBD2_HDR_TYPE, type);
	jbd2_put_be32(b + JBD2_HDR_SEQ, tid);
}

/* Tag checksum (v2/v3): crc32c over the sequence and the logged (escaped) copy. */
static uint32_t tag_csum(struct journal_w *jw, uint32_t tid, const unsigned char *copy)
{
	unsigned char seq[4];

	jbd2_put_be32(seq, tid);
	return ext2fs_crc32c_le(ext2fs_crc32c_le(jw->j.seed, seq, 4), copy, jw->j.bs);
}

/*
 * Blocks [from, from+n) of the running transaction into the log as
 * transaction jw->tid, durable when this returns 0.
 */
errcode_t tx_write_log(struct journal_w *jw, size_t from, size_t n)
{
	unsigned int bs = jw->j.bs, tb = jw->j.tag_bytes;
	/* Tags per descriptor: the first carries the 16-byte UUID. */
	size_t per_desc = 1 + (bs - JBD2_HDR_SIZE - jw->j.tail - tb - TAG_UUID_BYTES) / tb;
	unsigned char *desc = calloc(1, bs), *copies = malloc(per_desc * bs);
	uint32_t head, start, len, tid = jw->tid, crc32 = ~0U;
	struct timespec now;
	size_t i, k, g;
	errcode_t err;

	if (!desc || !copies) {
		err = EXT2_ET_NO_MEMORY;
		goto out;
	}
	len = n + (n + per_desc - 1) / per_desc + 1;
	start = jw->live ? jw->live_end : jw->j.first;
	if (start + len > jw->j.last)
		start = jw->j.first;
	if (jw->live && start < jw->live_end && start + len > jw->live_start) {
		/* It would overwrite the live transaction: empty the log first. */
		if ((err = fdio_sync(jw->io) ? EXT2_ET_SHORT_WRITE : 0) ||
		    (err = jsb_write(jw, 0, tid)) ||
		    (err = fdio_sync(jw->io) ? EXT2_ET_SHORT_WRITE : 0))
			goto out;
		jw->live = 0;
		start = jw->j.first;
	}
	head = start;
	/* Step e: descriptor, then its copies, group by group (log order). */
	for (i = from; i < from + n; i += g) {
		size_t off = JBD2_HDR_SIZE;

		g = from + n - i < per_desc ? from + n - i : per_desc;
		memset(desc, 0, bs);
		put_header(desc, JBD2_DESCRIPTOR, tid);
		for (k = 0; k < g; k++) {
			const struct tx_block *b = &jw->blocks[i + k];
			unsigned char *copy = copies + k * bs, *tag = desc + off;
			uint16_t flags = k ? TAG_FLAG_SAME_UUID : 0;

			memcpy(copy, b->data, bs);
			if (jbd2_be32(copy) == JBD2_MAGIC) {
				memset(copy, 0, 4);	/* escaped: replay puts the magic back */
				flags |= TAG_FLAG_ESCAPE;
			}
			if (k == g - 1)
				flags |= TAG_FLAG_LAST;
			jbd2_put_be32(tag + TAG_BLOCKNR, (uint32_t)b->blk);
			if (jw->j.incompat & JBD2_INCOMPAT_64BIT)
				jbd2_put_be32(tag + TAG_BLOCKNR_HIGH, (uint32_t)(b->blk >> 32));
			tag[TAG_FLAGS] = flags >> 8;
			tag[TAG_FLAGS + 1] = flags & 0xFF;
			if (jw->j.csum == 3) {
				jbd2_put_be32(tag + TAG3_CSUM, tag_csum(jw, tid, copy));
			} else if (jw->j.csum == 2) {
				uint32_t c = tag_csum(jw, tid, copy);
				tag[TAG_CSUM16] = (c >> 8) & 0xFF;
				tag[TAG_CSUM16 + 1] = c & 0xFF;
			}
			off += tb;
			if (!k) {
				memcpy(desc + off, jw->j.jsb + JSB_UUID, TAG_UUID_BYTES);
				off += TAG_UUID_BYTES;
			}
		}
		put_tail_csum(jw, desc);
		if (jw->j.csum == 1)
			crc32 = ext2fs_crc32_be(crc32, desc, bs);
		if ((err = log_write(jw, head++, desc)))
			goto out;
		for (k = 0; k < g; k++) {
			if (jw->j.csum == 1)
				crc32 = ext2fs_crc32_be(crc32, copies + k * bs, bs);
			if ((err = log_write(jw, head++, copies + k * bs)))
				goto out;
		}
	}
	/* Step f: home copies of the last commit, ordered data and the log are durable. */
	if ((err = fdio_sync(jw->io)))
		goto out;
	/* Step b, late: the superblock names this transaction (see the top). */
	if ((err = jsb_write(jw, start, tid)))
		goto out;
	memset(desc, 0, bs);
	put_header(desc, JBD2_COMMIT, tid);
	clock_gettime(CLOCK_REALTIME, &now);
	jbd2_put_be32(desc + COMMIT_SEC, (uint32_t)((uint64_t)now.tv_sec >> 32));
	jbd2_put_be32(desc + COMMIT_SEC + 4, (uint32_t)now.tv_sec);
	jbd2_put_be32(desc + COMMIT_SEC + 8, (uint32_t)now.tv_nsec);
	if (jw->j.csum == 1) {
		desc[COMMIT_CSUM_TYPE] = JBD2_CRC32_CHKSUM;
		desc[COMMIT_CSUM_SIZE] = JBD2_CRC32_CHKSUM_SIZE;
		jbd2_put_be32(desc + COMMIT_CSUM, crc32);
	} else if (jw->j.csum >= 2) {
		jbd2_put_be32(desc + COMMIT_CSUM, ext2fs_crc32c_le(jw->j.seed, desc, bs));
	}
	/* Step g: the commit block, durable: only now is the transaction committed. */
	if ((err = log_write(jw, head, desc)) || (err = fdio_sync(jw->io)))
		goto out;
	jw->live = 1;
	jw->live_start = start;
	jw->live_end = head + 1;
	jw->commits++;
out:
	free(desc);
	free(copies);
	return err;
}
