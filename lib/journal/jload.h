/*
 * jload.h: the loaded journal, shared by replay (recovery.c) and the writer
 * (transaction.c, commit.c).  Internal to lib/journal.
 */
#ifndef NG_JLOAD_H
#define NG_JLOAD_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>

struct revoke_entry {
	uint64_t blk;
	uint32_t tid;
	int used;
};

struct journal {
	ext2_filsys fs;
	io_channel io;			/* reads; writes too in replay */
	unsigned int bs;
	ext2_ino_t ino;			/* the journal inode */
	struct ext2_inode inode;	/* (or its backup in the superblock) */
	uint32_t nblocks;		/* journal blocks in the inode */
	blk64_t sb_pblk;		/* where the journal superblock is */
	unsigned char *jsb;		/* journal block 0 */
	uint32_t maxlen, first, last, start, sequence;
	uint32_t compat, incompat;
	int csum;			/* 0 none, 1 v1 crc32, 2 or 3: crc32c v2 / v3 */
	uint32_t seed;			/* v2/v3: crc32c of the journal uuid */
	unsigned int tag_bytes, tail;
	unsigned char *buf, *data;	/* one log block each */
	uint32_t end;			/* first tid not to replay */
	/* PASS_REVOKE: block -> newest revoking tid (open addressing) */
	struct revoke_entry *rv;
	size_t rv_cap, rv_n;
};


/* Load FS's internal journal: inode, superblock, checksum format. */
int journal_load(struct journal *j, ext2_filsys fs, io_channel io, char *why, size_t len);
void journal_free(struct journal *j);
uint32_t jsb_checksum(const unsigned char *sb);

#endif
