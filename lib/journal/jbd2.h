/*
 * jbd2.h: the on-disk format of the ext3/ext4 journal (JBD2), as offsets
 * and constants.  Our own definitions: Debian's libext2fs 1.47.0 installs
 * no journal header and exports no journal API (only the raw crc32c and
 * crc32_be functions used here).  Every JBD2 field is big-endian; the
 * fast-commit records (not parsed here) are little-endian.
 */
#ifndef NG_JBD2_H
#define NG_JBD2_H

#include <stdint.h>

#define JBD2_MAGIC		0xC03B3998U

/* Block types (header word 1). */
#define JBD2_DESCRIPTOR		1
#define JBD2_COMMIT		2
#define JBD2_SUPERBLOCK_V1	3
#define JBD2_SUPERBLOCK_V2	4
#define JBD2_REVOKE		5

/* Every metadata block starts with magic, type, sequence (tid). */
#define JBD2_HDR_MAGIC		0x00
#define JBD2_HDR_TYPE		0x04
#define JBD2_HDR_SEQ		0x08
#define JBD2_HDR_SIZE		12

/* Journal superblock (journal block 0). */
#define JSB_BLOCKSIZE		0x0C
#define JSB_MAXLEN		0x10
#define JSB_FIRST		0x14
#define JSB_SEQUENCE		0x18
#define JSB_START		0x1C
#define JSB_ERRNO		0x20
#define JSB_COMPAT		0x24
#define JSB_INCOMPAT		0x28
#define JSB_RO_COMPAT		0x2C
#define JSB_UUID		0x30
#define JSB_NR_USERS		0x40
#define JSB_CSUM_TYPE		0x50
#define JSB_NUM_FC_BLKS		0x54
#define JSB_CHECKSUM		0xFC
#define JSB_CSUM_LEN		1024	/* the superblock checksum covers 1 KiB */

#define JBD2_COMPAT_CHECKSUM		0x1	/* v1: crc32 in the commit block */
#define JBD2_INCOMPAT_REVOKE		0x1
#define JBD2_INCOMPAT_64BIT		0x2
#define JBD2_INCOMPAT_ASYNC_COMMIT	0x4
#define JBD2_INCOMPAT_CSUM_V2		0x8
#define JBD2_INCOMPAT_CSUM_V3		0x10
#define JBD2_INCOMPAT_FAST_COMMIT	0x20
#define JBD2_INCOMPAT_KNOWN		0x3F
#define JBD2_CSUM_TYPE_CRC32C		4

#define JBD2_MIN_JOURNAL_BLOCKS		1024
#define JBD2_DEFAULT_FC_BLOCKS		256

/* Descriptor tags. */
#define TAG_BLOCKNR		0
#define TAG_CSUM16		4	/* v2: low 16 bits of the tag checksum */
#define TAG_FLAGS		6	/* BE16 here in every format (v3: low half of a BE32) */
#define TAG_BLOCKNR_HIGH	8	/* with INCOMPAT_64BIT only */
#define TAG3_CSUM		12	/* v3: full 32-bit tag checksum */
#define TAG_UUID_BYTES		16	/* follows a tag without SAME_UUID */

#define TAG_FLAG_ESCAPE		0x1
#define TAG_FLAG_SAME_UUID	0x2
#define TAG_FLAG_DELETED	0x4
#define TAG_FLAG_LAST		0x8

/* Commit block. */
#define COMMIT_CSUM_TYPE	0x0C
#define COMMIT_CSUM_SIZE	0x0D
#define COMMIT_CSUM		0x10	/* h_chksum[0] */
#define COMMIT_SEC		0x30	/* BE64 */
#define JBD2_CRC32_CHKSUM	1
#define JBD2_CRC32_CHKSUM_SIZE	4

/* Revoke block. */
#define REVOKE_COUNT		0x0C	/* bytes used, header included */
#define REVOKE_RECORDS		0x10

/* v2/v3 descriptor and revoke blocks end with a 4-byte checksum. */
#define JBD2_TAIL_SIZE		4

/* Fast-commit area: little-endian tag-length-value records. */
#define FC_TAG_HEAD		0x0009

/* ext4 superblock bits this layer needs (libext2fs may lack the names). */
#define NG_COMPAT_FAST_COMMIT	0x0400
#define NG_COMPAT_ORPHAN_FILE	0x1000
#define NG_RO_COMPAT_ORPHAN_PRESENT 0x10000

static inline uint32_t jbd2_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint16_t jbd2_be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint64_t jbd2_be64(const unsigned char *p)
{
	return (uint64_t)jbd2_be32(p) << 32 | jbd2_be32(p + 4);
}
static inline void jbd2_put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}
/* Transaction ids wrap: "a is after b". */
static inline int tid_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

#endif
