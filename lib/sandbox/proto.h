/*
 * proto.h: the sandbox protocol between the mount helper (mount.safe, the
 * trusted side: it opens the device and mounts) and the daemon running as
 * a socket-activated, unprivileged service (the untrusted side: it parses
 * the image).  One AF_UNIX SOCK_SEQPACKET connection per mount.
 *
 * Every message is one packet: a 16-byte header, then a payload whose
 * layout depends on the type.  All integers are little-endian.  Strings
 * carry their length including the terminating NUL, contain no other NUL,
 * and are followed by zero padding to a multiple of 4 bytes.  Reserved
 * fields must be zero.  At most one file descriptor travels with a
 * message, and only with DEVICE and FUSE_DEV when their error is 0.
 * doc/sandbox-protocol.md has the message table.
 *
 *   helper                                   server
 *   HELLO {versions, flags, uid, gid}  --->
 *                                      <---  HELLO_REPLY {version}
 *   ARGS {source, options}             --->
 *                                      <---  OPEN_DEVICE {rw?}
 *   DEVICE {error | fd}                --->
 *                                      <---  MOUNT {ms_flags, fstype, data}
 *   FUSE_DEV {error | fd of /dev/fuse} --->  (the helper has mounted)
 *                                      <---  BYE {0}, then it serves
 *
 * Either side may end the exchange early: the server with BYE {errno,
 * text} (the helper prints the text), the helper by closing the socket.
 */
#ifndef NG_SANDBOX_PROTO_H
#define NG_SANDBOX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define NGSB_MAGIC		0x4253474eU	/* "NGSB" in the first 4 bytes */
#define NGSB_VERSION		1
#define NGSB_HEADER_SIZE	16
#define NGSB_MAX_MSG		8192	/* bytes per packet, header included */
#define NGSB_PATH_MAX		4096	/* source path, NUL included */
#define NGSB_OPTS_MAX		3072	/* option strings, NUL included */
#define NGSB_FSTYPE_MAX		64
#define NGSB_TEXT_MAX		1024	/* BYE text, NUL included */

enum ngsb_type {
	NGSB_HELLO = 1,		/* helper -> server */
	NGSB_HELLO_REPLY = 2,	/* server -> helper */
	NGSB_ARGS = 3,		/* helper -> server */
	NGSB_OPEN_DEVICE = 4,	/* server -> helper */
	NGSB_DEVICE = 5,	/* helper -> server, + fd */
	NGSB_MOUNT = 6,		/* server -> helper */
	NGSB_FUSE_DEV = 7,	/* helper -> server, + fd */
	NGSB_BYE = 8,		/* server -> helper */
};

/* HELLO flags */
#define NGSB_HELLO_ROOT		(1U << 0)	/* the caller is root */
/* OPEN_DEVICE and DEVICE flags */
#define NGSB_DEV_RW		(1U << 0)	/* asked / opened read-write */

/* A decoded message.  fd is -1 unless a DEVICE or FUSE_DEV carried one. */
struct ngsb_msg {
	uint32_t type;
	int32_t error;		/* positive errno; 0 for success */
	int fd;
	union {
		struct {
			uint32_t min_version, max_version, flags, uid, gid;
		} hello;
		struct {
			uint32_t version;
		} hello_reply;
		struct {
			char source[NGSB_PATH_MAX];
			char options[NGSB_OPTS_MAX];
		} args;
		struct {
			uint32_t flags;
		} open_device, device;
		struct {
			uint64_t ms_flags;
			char fstype[NGSB_FSTYPE_MAX];
			char data[NGSB_OPTS_MAX];
		} mount;
		struct {
			char text[NGSB_TEXT_MAX];
		} bye;
	} u;
};

/* Zero MSG and set its type, error 0 and fd -1. */
void ngsb_init(struct ngsb_msg *msg, uint32_t type);

/*
 * Encode and send MSG (with msg->fd when it is >= 0, which only DEVICE and
 * FUSE_DEV with error 0 may carry).  MSG_NOSIGNAL: a dead peer is EPIPE,
 * not a signal.  Returns 0 or a positive errno (EINVAL for a message that
 * breaks the rules above, EMSGSIZE for strings too long).
 */
int ngsb_send(int sock, const struct ngsb_msg *msg);

/*
 * Receive and strictly decode one message, waiting at most TIMEOUT_MS
 * milliseconds (-1: forever).  Returns 0, or a positive errno:
 *   ETIMEDOUT   nothing arrived in time
 *   ECONNRESET  the peer closed the connection (or reset it)
 *   EPROTO      a malformed message: bad magic, version, type or length,
 *               truncated (MSG_TRUNC), a string without its NUL or with
 *               one inside, nonzero padding or reserved fields, an fd on
 *               a message that carries none, a missing fd, more than one
 *               fd, or an fd transfer cut short (MSG_CTRUNC: an LSM
 *               refused it, or more than one was sent)
 * On any error every fd that arrived has been closed; on success msg->fd
 * is the received fd (close-on-exec) or -1.  WHY, when not NULL, gets a
 * short text naming the problem (at least 128 bytes).
 */
int ngsb_recv(int sock, struct ngsb_msg *msg, int timeout_ms, char *why, size_t whylen);

/*
 * ngsb_recv, then require TYPE.  A BYE received instead (the server gave
 * up) returns its error (EPROTO if it had none) with its text in WHY; any
 * other type is EPROTO (its fd closed).
 */
int ngsb_expect(int sock, uint32_t type, struct ngsb_msg *msg, int timeout_ms,
		char *why, size_t whylen);

/*
 * Refuse further fds on SOCK (SO_PASSRIGHTS=0, Linux 6.16+): a sender's
 * SCM_RIGHTS then fails with EPERM.  Returns 0, or ENOPROTOOPT on older
 * kernels (callers go on: ngsb_recv closes unexpected fds anyway).
 */
int ngsb_refuse_fds(int sock);

/* "HELLO", "DEVICE", ... or "unknown". */
const char *ngsb_type_name(uint32_t type);

#endif
