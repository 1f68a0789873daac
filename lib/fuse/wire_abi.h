/*
 * wire_abi.h: the FUSE wire ABI that Debian's libfuse 3.14 does not know.
 *
 * One table per source, each with the revision it comes from, so a later
 * kernel revision of the iomap series becomes a new table here and not a
 * rewrite of the handlers:
 *
 *   mainline 7.39+  FUSE_STATX, FUSE_SYNCFS, FUSE_DEV_IOC_SYNC_INIT (6.18)
 *   iomap RFC v3    "fuse-iomap" patches of July 2025 (proto 7.99 placeholder):
 *                   INIT bits 43-45, opcodes 4092-4095, notify codes 9/10,
 *                   FUSE_ATTR_IOMAP_*, FUSE_DEV_IOC_IOMAP_DEV_ADD/SUPPORT.
 *
 * Facts from ../shared/protocol/fuse-extensions-spec.md; the structs are
 * written out here, field by field, and their sizes are checked below.
 */
#ifndef NG_WIRE_ABI_H
#define NG_WIRE_ABI_H

#include <stdint.h>
#include <linux/fuse.h>		/* 7.38: headers, init, attr, entry, dirent */

/* ---- mainline, newer than the installed 7.38 header ---- */
#define NG_FUSE_SYNCFS		50
#define NG_FUSE_STATX		52

struct ng_fuse_sx_time {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};

struct ng_fuse_statx {
	uint32_t mask;
	uint32_t blksize;
	uint64_t attributes;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint16_t mode;
	uint16_t spare0;
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;
	uint64_t attributes_mask;
	struct ng_fuse_sx_time atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor;
	uint32_t dev_major, dev_minor;
	uint64_t spare2[14];
};

struct ng_fuse_statx_in {
	uint32_t getattr_flags;
	uint32_t reserved;
	uint64_t fh;
	uint32_t sx_flags;
	uint32_t sx_mask;
};

struct ng_fuse_statx_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec;
	uint32_t flags;
	uint64_t spare[2];
	struct ng_fuse_statx stat;
};

struct ng_fuse_syncfs_in {
	uint64_t padding;
};

/* _IO(229, 3): FUSE_INIT inside mount(2) (kernel 6.18). */
#define NG_FUSE_DEV_IOC_SYNC_INIT	0x0000E503u

/* ---- iomap RFC v3 (July 2025) ---- */
#define NG_IOMAP_PROTO_MINOR		99	/* placeholder minor of the series */

/* INIT flags, in flags2 (64-bit value >> 32) */
#define NG_FUSE_IOMAP			(1u << 11)	/* 1ULL << 43 */
#define NG_FUSE_IOMAP_DIRECTIO		(1u << 12)	/* 1ULL << 44 */
#define NG_FUSE_IOMAP_FILEIO		(1u << 13)	/* 1ULL << 45 */
#define NG_FUSE_IOMAP_ALL \
	(NG_FUSE_IOMAP | NG_FUSE_IOMAP_DIRECTIO | NG_FUSE_IOMAP_FILEIO)

/* opcodes */
#define NG_FUSE_IOMAP_CONFIG		4092
#define NG_FUSE_IOMAP_IOEND		4093
#define NG_FUSE_IOMAP_BEGIN		4094
#define NG_FUSE_IOMAP_END		4095

/* notification codes (fuse_out_header.error with unique 0) */
#define NG_FUSE_NOTIFY_IOMAP_UPSERT	9
#define NG_FUSE_NOTIFY_IOMAP_INVAL	10

/* fuse_attr.flags */
#define NG_FUSE_ATTR_IOMAP_DIRECTIO	(1u << 2)
#define NG_FUSE_ATTR_IOMAP_FILEIO	(1u << 3)

/* mapping types */
#define NG_IOMAP_TYPE_HOLE		0
#define NG_IOMAP_TYPE_DELALLOC		1
#define NG_IOMAP_TYPE_MAPPED		2
#define NG_IOMAP_TYPE_UNWRITTEN		3
#define NG_IOMAP_TYPE_INLINE		4
#define NG_IOMAP_TYPE_NULL		0xFFFE
#define NG_IOMAP_TYPE_PURE_OVERWRITE	0xFFFF

#define NG_IOMAP_DEV_NULL		0u
#define NG_IOMAP_NULL_ADDR		(~0ULL)
#define NG_IOMAP_INVAL_TO_EOF		(~0ULL)

/* mapping flags */
#define NG_IOMAP_F_NEW			(1u << 0)
#define NG_IOMAP_F_DIRTY		(1u << 1)
#define NG_IOMAP_F_SHARED		(1u << 2)
#define NG_IOMAP_F_MERGED		(1u << 3)
#define NG_IOMAP_F_WANT_IOMAP_END	(1u << 12)
#define NG_IOMAP_F_SIZE_CHANGED		(1u << 14)
#define NG_IOMAP_F_STALE		(1u << 15)
#define NG_IOMAP_F_ALL			0x11EFu		/* what replies may carry */

/* operation flags */
#define NG_IOMAP_OP_WRITE		(1u << 0)
#define NG_IOMAP_OP_ZERO		(1u << 1)
#define NG_IOMAP_OP_REPORT		(1u << 2)
#define NG_IOMAP_OP_FAULT		(1u << 3)
#define NG_IOMAP_OP_DIRECT		(1u << 4)
#define NG_IOMAP_OP_NOWAIT		(1u << 5)
#define NG_IOMAP_OP_OVERWRITE_ONLY	(1u << 6)
#define NG_IOMAP_OP_UNSHARE		(1u << 7)
#define NG_IOMAP_OP_ATOMIC		(1u << 9)
#define NG_IOMAP_OP_DONTCACHE		(1u << 10)

/* ioend flags */
#define NG_IOMAP_IOEND_SHARED		(1u << 0)
#define NG_IOMAP_IOEND_UNWRITTEN	(1u << 1)
#define NG_IOMAP_IOEND_BOUNDARY		(1u << 2)
#define NG_IOMAP_IOEND_DIRECT		(1u << 3)
#define NG_IOMAP_IOEND_APPEND		(1u << 15)	/* absent from the spec table: seed 001 l.3341 */

/* config_out.flags: which fields are valid */
#define NG_IOMAP_CONFIG_SID		(1u << 0)
#define NG_IOMAP_CONFIG_UUID		(1u << 1)
#define NG_IOMAP_CONFIG_BLOCKSIZE	(1u << 2)
#define NG_IOMAP_CONFIG_MAX_LINKS	(1u << 3)
#define NG_IOMAP_CONFIG_TIME		(1u << 4)
#define NG_IOMAP_CONFIG_MAXBYTES	(1u << 5)

/* /dev/fuse ioctls */
#define NG_FUSE_DEV_IOC_IOMAP_DEV_ADD	0x4010E503u	/* _IOW(229, 3, backing_map) */
#define NG_FUSE_DEV_IOC_IOMAP_SUPPORT	0x8010E504u	/* _IOR(229, 4, support) */
#define NG_IOMAP_SUPPORT_BASICS		(1u << 0)
#define NG_IOMAP_SUPPORT_DIRECTIO	(1u << 1)
#define NG_IOMAP_SUPPORT_FILEIO		(1u << 2)

struct ng_fuse_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

struct ng_iomap_support {
	uint64_t flags;
	uint64_t padding;
};

struct ng_iomap_begin_in {
	uint32_t opflags;
	uint32_t reserved;
	uint64_t attr_ino;
	uint64_t pos;
	uint64_t count;
};

struct ng_iomap_begin_out {
	uint64_t offset;
	uint64_t length;
	uint64_t read_addr;
	uint16_t read_type;
	uint16_t read_flags;
	uint32_t read_dev;
	uint64_t write_addr;
	uint16_t write_type;
	uint16_t write_flags;
	uint32_t write_dev;
};

struct ng_iomap_end_in {
	uint32_t opflags;
	uint32_t reserved;
	uint64_t attr_ino;
	uint64_t pos;
	uint64_t count;
	int64_t written;
	uint64_t map_length;
	uint64_t map_addr;
	uint16_t map_type;
	uint16_t map_flags;
	uint32_t map_dev;
};

struct ng_iomap_ioend_in {
	uint16_t ioendflags;
	uint16_t reserved;
	int32_t error;		/* negative errno of the I/O */
	uint64_t attr_ino;
	uint64_t pos;
	uint64_t new_addr;
	uint32_t written;
	uint32_t reserved1;
};

struct ng_iomap_config_in {
	uint64_t flags;
	int64_t maxbytes;
};

struct ng_iomap_config_out {
	uint64_t flags;
	char s_id[32];
	uint8_t s_uuid[16];
	uint8_t s_uuid_len;
	uint8_t s_pad[3];
	uint32_t s_blocksize;
	uint32_t s_max_links;
	uint32_t s_time_gran;
	int64_t s_time_min;
	int64_t s_time_max;
	int64_t s_maxbytes;
};

struct ng_iomap_upsert_out {
	uint64_t nodeid;
	uint64_t attr_ino;
	uint64_t read_offset;
	uint64_t read_length;
	uint64_t read_addr;
	uint16_t read_type;
	uint16_t read_flags;
	uint32_t read_dev;
	uint64_t write_offset;
	uint64_t write_length;
	uint64_t write_addr;
	uint16_t write_type;
	uint16_t write_flags;
	uint32_t write_dev;
};

struct ng_iomap_inval_out {
	uint64_t nodeid;
	uint64_t attr_ino;
	uint64_t read_offset;
	uint64_t read_length;
	uint64_t write_offset;
	uint64_t write_length;
};

_Static_assert(sizeof(struct ng_fuse_statx) == 256, "fuse_statx");
_Static_assert(sizeof(struct ng_fuse_statx_in) == 24, "fuse_statx_in");
_Static_assert(sizeof(struct ng_fuse_statx_out) == 288, "fuse_statx_out");
_Static_assert(sizeof(struct ng_fuse_backing_map) == 16, "fuse_backing_map");
_Static_assert(sizeof(struct ng_iomap_begin_in) == 32, "iomap_begin_in");
_Static_assert(sizeof(struct ng_iomap_begin_out) == 48, "iomap_begin_out");
_Static_assert(sizeof(struct ng_iomap_end_in) == 64, "iomap_end_in");
_Static_assert(sizeof(struct ng_iomap_ioend_in) == 40, "iomap_ioend_in");
_Static_assert(sizeof(struct ng_iomap_config_in) == 16, "iomap_config_in");
_Static_assert(sizeof(struct ng_iomap_config_out) == 96, "iomap_config_out");
_Static_assert(sizeof(struct ng_iomap_upsert_out) == 80, "iomap_upsert_out");
_Static_assert(sizeof(struct ng_iomap_inval_out) == 48, "iomap_inval_out");
_Static_assert(sizeof(struct fuse_attr) == 88, "fuse_attr");

#endif
