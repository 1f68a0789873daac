/*
 * wire: our layer of the FUSE protocol under libfuse 3.14.
 *
 * libfuse keeps the standard protocol; these hooks (libfuse's custom I/O on
 * the session fd) see every message first:
 *
 *   read    requests libfuse cannot dispatch (iomap 4092-4095, SYNCFS,
 *           STATX, TMPFILE) are answered here and never reach it; FUSE_INIT's
 *           offer is remembered; an extended SETXATTR is rewritten to the
 *           layout libfuse parses
 *   writev  the INIT reply gains the iomap bits we accept (libfuse drops
 *           flags2 bits it does not know) and FUSE_SETXATTR_EXT; entry and attribute replies of
 *           regular files gain FUSE_ATTR_IOMAP_* when iomap is on
 *
 * plus the notifications libfuse has no helper for (iomap upsert/inval).
 */
#ifndef NG_WIRE_H
#define NG_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct front;
struct fuse_session;

/* One request answered by this layer. */
struct wire_req {
	struct front *f;
	int fd;			/* where it came from; the reply goes there */
	uint64_t unique;
	uint64_t nodeid;
	uint32_t opcode;
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* Set the hooks on a session whose fd is FD (/dev/fuse or a test socket). */
int wire_attach(struct front *f, struct fuse_session *se, int fd);
int wire_reply(struct wire_req *r, int err, const void *data, size_t len);
int wire_notify(struct front *f, int code, const void *data, size_t len);

/* ops_tmpfile.c: FUSE_TMPFILE (open with O_TMPFILE) */
void front_op_tmpfile(struct wire_req *r, const void *arg, size_t arglen);

/* ops_ext.c: the handlers for what libfuse does not dispatch */
void ext_dispatch(struct wire_req *r, const void *arg, size_t arglen);
void ext_classic_io(struct front *f);
void ext_init_reply(struct front *f, uint32_t offered_flags2, uint32_t *flags,
		    uint32_t *flags2, int *fail);

#endif
