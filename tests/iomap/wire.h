/*
 * wire.h: the FUSE iomap protocol (RFC v3) as the kernel sees it, written
 * from the spec (shared/protocol/fuse-extensions-spec.md, section 2) and not
 * from the daemon's headers: a second, independent transcription of the ABI.
 * Every size and offset the spec gives is checked at compile time.
 *
 * Standard FUSE structs come from <linux/fuse.h> (7.38); what 7.38 lacks
 * (statx, backing_map, the iomap structs) is defined here.
 */
#ifndef IOMAP_WIRE_H
#define IOMAP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/fuse.h>

#define SA_SIZE(t, n) _Static_assert(sizeof(t) == (n), "size of " #t)
#define SA_OFF(t, f, n) _Static_assert(offsetof(t, f) == (n), "offset of " #t "." #f)

/* ---------------------------------------------------------------- INIT */
#define W_FUSE_IOMAP_MINOR	99
#define W_FUSE_INIT_EXT		(1u << 30)
/* flags2 (64-bit bit N is flags2 bit N-32) */
#define W_FUSE2_IOMAP		(1u << 11)	/* 1ULL<<43 */
#define W_FUSE2_IOMAP_DIRECTIO	(1u << 12)	/* 1ULL<<44 */
#define W_FUSE2_IOMAP_FILEIO	(1u << 13)	/* 1ULL<<45 */
#define W_FUSE2_IOMAP_ALL	(W_FUSE2_IOMAP | W_FUSE2_IOMAP_DIRECTIO | W_FUSE2_IOMAP_FILEIO)
_Static_assert(W_FUSE2_IOMAP_ALL == 0x3800, "iomap flags2 bits");
_Static_assert((1ULL << 43) >> 32 == W_FUSE2_IOMAP, "FUSE_IOMAP bit");

/* fuse_attr.flags */
#define W_ATTR_IOMAP_DIRECTIO	(1u << 2)
#define W_ATTR_IOMAP_FILEIO	(1u << 3)
SA_SIZE(struct fuse_attr, 88);
SA_OFF(struct fuse_attr, flags, 84);
SA_OFF(struct fuse_attr, blksize, 80);
SA_SIZE(struct fuse_entry_out, 128);
SA_SIZE(struct fuse_attr_out, 104);
SA_SIZE(struct fuse_init_in, 64);
SA_SIZE(struct fuse_init_out, 64);
SA_OFF(struct fuse_init_in, flags2, 16);
SA_OFF(struct fuse_init_out, flags2, 32);
SA_SIZE(struct fuse_in_header, 40);
SA_SIZE(struct fuse_out_header, 16);
SA_SIZE(struct fuse_setattr_in, 88);
SA_SIZE(struct fuse_read_in, 40);
SA_SIZE(struct fuse_write_in, 40);
SA_SIZE(struct fuse_write_out, 8);
SA_SIZE(struct fuse_fallocate_in, 32);
SA_SIZE(struct fuse_open_out, 16);
SA_SIZE(struct fuse_create_in, 16);

/* ---------------------------------------------------------------- opcodes */
#define W_FUSE_SYNCFS		50
#define W_FUSE_STATX		52
#define W_FUSE_IOMAP_CONFIG	4092
#define W_FUSE_IOMAP_IOEND	4093
#define W_FUSE_IOMAP_BEGIN	4094
#define W_FUSE_IOMAP_END	4095

#define W_NOTIFY_IOMAP_UPSERT	9
#define W_NOTIFY_IOMAP_INVAL	10

/* ---------------------------------------------------------------- constants */
#define W_TYPE_HOLE		0
#define W_TYPE_DELALLOC		1
#define W_TYPE_MAPPED		2
#define W_TYPE_UNWRITTEN	3
#define W_TYPE_INLINE		4
#define W_TYPE_NULL		0xFFFE
#define W_TYPE_PURE_OVERWRITE	0xFFFF

#define W_DEV_NULL		0u
#define W_NULL_ADDR		(~0ULL)
#define W_INVAL_TO_EOF		(~0ULL)

#define W_F_NEW			0x0001
#define W_F_DIRTY		0x0002
#define W_F_SHARED		0x0004
#define W_F_MERGED		0x0008
#define W_F_XATTR		0x0020
#define W_F_BOUNDARY		0x0040
#define W_F_ANON_WRITE		0x0080
#define W_F_ATOMIC_BIO		0x0100
#define W_F_WANT_IOMAP_END	0x1000
#define W_F_SIZE_CHANGED	0x4000
#define W_F_STALE		0x8000
#define W_F_ALL			0x11EF
_Static_assert((W_F_NEW | W_F_DIRTY | W_F_SHARED | W_F_MERGED | W_F_XATTR | W_F_BOUNDARY |
		W_F_ANON_WRITE | W_F_ATOMIC_BIO | W_F_WANT_IOMAP_END) == W_F_ALL, "F_ALL");

#define W_OP_WRITE		0x001
#define W_OP_ZERO		0x002
#define W_OP_REPORT		0x004
#define W_OP_FAULT		0x008
#define W_OP_DIRECT		0x010
#define W_OP_NOWAIT		0x020
#define W_OP_OVERWRITE_ONLY	0x040
#define W_OP_UNSHARE		0x080
#define W_OP_ATOMIC		0x200
#define W_OP_DONTCACHE		0x400
#define W_OP_IS_FILE_WRITE(op)	(((op) & (W_OP_WRITE | W_OP_ZERO | W_OP_UNSHARE)) != 0)

#define W_IOEND_SHARED		0x0001
#define W_IOEND_UNWRITTEN	0x0002
#define W_IOEND_BOUNDARY	0x0004
#define W_IOEND_DIRECT		0x0008
#define W_IOEND_APPEND		0x8000

#define W_CONFIG_SID		(1u << 0)
#define W_CONFIG_UUID		(1u << 1)
#define W_CONFIG_BLOCKSIZE	(1u << 2)
#define W_CONFIG_MAX_LINKS	(1u << 3)
#define W_CONFIG_TIME		(1u << 4)
#define W_CONFIG_MAXBYTES	(1u << 5)
#define W_CONFIG_ALL		0x3Fu

/* ioctl on /dev/fuse (intercepted by devshim.so on our socket) */
#define W_FUSE_DEV_IOC_IOMAP_DEV_ADD	0x4010E503u

/* ---------------------------------------------------------------- structs */
struct w_iomap_begin_in {
	uint32_t opflags;
	uint32_t reserved;
	uint64_t attr_ino;
	uint64_t pos;
	uint64_t count;
};
SA_SIZE(struct w_iomap_begin_in, 32);
SA_OFF(struct w_iomap_begin_in, attr_ino, 8);
SA_OFF(struct w_iomap_begin_in, pos, 16);
SA_OFF(struct w_iomap_begin_in, count, 24);

struct w_iomap_begin_out {
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
SA_SIZE(struct w_iomap_begin_out, 48);
SA_OFF(struct w_iomap_begin_out, length, 8);
SA_OFF(struct w_iomap_begin_out, read_addr, 16);
SA_OFF(struct w_iomap_begin_out, read_type, 24);
SA_OFF(struct w_iomap_begin_out, read_flags, 26);
SA_OFF(struct w_iomap_begin_out, read_dev, 28);
SA_OFF(struct w_iomap_begin_out, write_addr, 32);
SA_OFF(struct w_iomap_begin_out, write_type, 40);
SA_OFF(struct w_iomap_begin_out, write_flags, 42);
SA_OFF(struct w_iomap_begin_out, write_dev, 44);

struct w_iomap_end_in {
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
SA_SIZE(struct w_iomap_end_in, 64);
SA_OFF(struct w_iomap_end_in, attr_ino, 8);
SA_OFF(struct w_iomap_end_in, pos, 16);
SA_OFF(struct w_iomap_end_in, count, 24);
SA_OFF(struct w_iomap_end_in, written, 32);
SA_OFF(struct w_iomap_end_in, map_length, 40);
SA_OFF(struct w_iomap_end_in, map_addr, 48);
SA_OFF(struct w_iomap_end_in, map_type, 56);
SA_OFF(struct w_iomap_end_in, map_flags, 58);
SA_OFF(struct w_iomap_end_in, map_dev, 60);

struct w_iomap_ioend_in {
	uint16_t ioendflags;
	uint16_t reserved;
	int32_t error;
	uint64_t attr_ino;
	uint64_t pos;
	uint64_t new_addr;
	uint32_t written;
	uint32_t reserved1;
};
SA_SIZE(struct w_iomap_ioend_in, 40);
SA_OFF(struct w_iomap_ioend_in, error, 4);
SA_OFF(struct w_iomap_ioend_in, attr_ino, 8);
SA_OFF(struct w_iomap_ioend_in, pos, 16);
SA_OFF(struct w_iomap_ioend_in, new_addr, 24);
SA_OFF(struct w_iomap_ioend_in, written, 32);
SA_OFF(struct w_iomap_ioend_in, reserved1, 36);

struct w_iomap_config_in {
	uint64_t flags;
	int64_t maxbytes;
};
SA_SIZE(struct w_iomap_config_in, 16);
SA_OFF(struct w_iomap_config_in, maxbytes, 8);

struct w_iomap_config_out {
	uint64_t flags;
	char s_id[32];
	char s_uuid[16];
	uint8_t s_uuid_len;
	uint8_t s_pad[3];
	uint32_t s_blocksize;
	uint32_t s_max_links;
	uint32_t s_time_gran;
	int64_t s_time_min;
	int64_t s_time_max;
	int64_t s_maxbytes;
};
SA_SIZE(struct w_iomap_config_out, 96);
SA_OFF(struct w_iomap_config_out, s_id, 8);
SA_OFF(struct w_iomap_config_out, s_uuid, 40);
SA_OFF(struct w_iomap_config_out, s_uuid_len, 56);
SA_OFF(struct w_iomap_config_out, s_pad, 57);
SA_OFF(struct w_iomap_config_out, s_blocksize, 60);
SA_OFF(struct w_iomap_config_out, s_max_links, 64);
SA_OFF(struct w_iomap_config_out, s_time_gran, 68);
SA_OFF(struct w_iomap_config_out, s_time_min, 72);
SA_OFF(struct w_iomap_config_out, s_time_max, 80);
SA_OFF(struct w_iomap_config_out, s_maxbytes, 88);

struct w_iomap_upsert_out {
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
SA_SIZE(struct w_iomap_upsert_out, 80);
SA_OFF(struct w_iomap_upsert_out, attr_ino, 8);
SA_OFF(struct w_iomap_upsert_out, read_offset, 16);
SA_OFF(struct w_iomap_upsert_out, read_length, 24);
SA_OFF(struct w_iomap_upsert_out, read_addr, 32);
SA_OFF(struct w_iomap_upsert_out, read_type, 40);
SA_OFF(struct w_iomap_upsert_out, read_flags, 42);
SA_OFF(struct w_iomap_upsert_out, read_dev, 44);
SA_OFF(struct w_iomap_upsert_out, write_offset, 48);
SA_OFF(struct w_iomap_upsert_out, write_length, 56);
SA_OFF(struct w_iomap_upsert_out, write_addr, 64);
SA_OFF(struct w_iomap_upsert_out, write_type, 72);
SA_OFF(struct w_iomap_upsert_out, write_flags, 74);
SA_OFF(struct w_iomap_upsert_out, write_dev, 76);

struct w_iomap_inval_out {
	uint64_t nodeid;
	uint64_t attr_ino;
	uint64_t read_offset;
	uint64_t read_length;
	uint64_t write_offset;
	uint64_t write_length;
};
SA_SIZE(struct w_iomap_inval_out, 48);
SA_OFF(struct w_iomap_inval_out, read_offset, 16);
SA_OFF(struct w_iomap_inval_out, read_length, 24);
SA_OFF(struct w_iomap_inval_out, write_offset, 32);
SA_OFF(struct w_iomap_inval_out, write_length, 40);

struct w_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
SA_SIZE(struct w_backing_map, 16);

/* mainline 7.39 statx (spec section 6) */
struct w_sx_time {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
SA_SIZE(struct w_sx_time, 16);

struct w_statx {
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
	struct w_sx_time atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare2[14];
};
SA_SIZE(struct w_statx, 256);
SA_OFF(struct w_statx, ino, 32);
SA_OFF(struct w_statx, size, 40);
SA_OFF(struct w_statx, atime, 64);
SA_OFF(struct w_statx, rdev_major, 128);

struct w_statx_in {
	uint32_t getattr_flags;
	uint32_t reserved;
	uint64_t fh;
	uint32_t sx_flags;
	uint32_t sx_mask;
};
SA_SIZE(struct w_statx_in, 24);

struct w_statx_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec;
	uint32_t flags;
	uint64_t spare[2];
	struct w_statx stat;
};
SA_SIZE(struct w_statx_out, 288);
SA_OFF(struct w_statx_out, stat, 32);

struct w_syncfs_in {
	uint64_t padding;
};
SA_SIZE(struct w_syncfs_in, 8);

/* ---------------------------------------------------------------- connection */

/* Upcall counters, per scenario (reset by conn_counters_reset). */
struct counters {
	unsigned long begin, begin_cached, end, ioend, read, write, upsert, inval, other;
	unsigned long null_retry;
};

typedef void (*notify_fn)(void *ctx, int code, const void *payload, size_t len);

struct conn {
	int fd;			/* our end of the socketpair */
	pid_t pid;		/* the daemon */
	uint64_t unique;
	uint32_t max_write;
	char errfile[256];	/* daemon stderr */
	notify_fn notify;
	void *notify_ctx;
	struct counters cnt;
	int daemon_status;	/* after conn_wait */
	unsigned char *buf;	/* receive buffer */
	size_t bufsize;
};

/* Scenario label for messages, and failure reporting. */
extern char g_scenario[96];
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int g_verbose;

/* Start the daemon on /dev/fd/N; opts is the -o string (may be NULL). */
void conn_start(struct conn *c, const char *fuse2fs, const char *shim, const char *image,
		const char *opts, const char *devfile, const char *errfile);
/*
 * One request, one reply.  Returns the reply's error (0 or -errno); the
 * payload goes to out (up to outsz bytes), its length to *outlen.  A reply
 * larger than outsz fails the test (the kernel would give EIO).
 * Notifications that arrive first go to c->notify.
 */
int conn_call(struct conn *c, uint32_t opcode, uint64_t nodeid, const void *in, size_t inlen,
	      const void *in2, size_t in2len, void *out, size_t outsz, size_t *outlen);
/* As conn_call, but a successful reply must be exactly outsz bytes. */
int conn_call_exact(struct conn *c, uint32_t opcode, uint64_t nodeid, const void *in,
		    size_t inlen, const void *in2, size_t in2len, void *out, size_t outsz);
/* Pipelined requests: send without waiting; receive whichever reply comes next. */
void conn_send(struct conn *c, uint64_t unique, uint32_t opcode, uint64_t nodeid,
	       const void *in, size_t inlen);
int conn_recv(struct conn *c, uint64_t *unique, size_t *plen);
/* Handle notifications already queued on the socket (non-blocking). */
void conn_drain(struct conn *c);
/* Close our end and wait for the daemon; returns its exit status (or -signal). */
int conn_finish(struct conn *c, int timeout_s);
/* The daemon's "fuse2fs: counters:" value for key, or -1 if missing. */
long long daemon_counter(const char *errfile, const char *key);
const char *opname(uint32_t opcode);

#endif
