/*
 * workload.h: the transcript helpers of workload.c, for the step files
 * that live beside it (one file per group of steps: steps_*.c).
 */
#ifndef NG_WORKLOAD_H
#define NG_WORKLOAD_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* renameat2 flags, for C libraries older than them (linux/fs.h) */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

#define ACL_UID 1234
#define NOBODY 65534

/* On-disk-independent xattr form of POSIX ACLs (linux/posix_acl_xattr.h). */
#define ACL_XVERSION 2
#define A_USER_OBJ 0x01
#define A_USER 0x02
#define A_GROUP_OBJ 0x04
#define A_GROUP 0x08
#define A_MASK 0x10
#define A_OTHER 0x20
#define A_UNDEF_ID 0xffffffffu

struct acle {
	uint16_t tag, perm;
	uint32_t id;
};

void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void step(const char *title);
const char *errname(int e);
long report(const char *desc, long r, int e);
int report_fd(const char *desc, int fd, int e);
void closefd(int fd);
int show(const char *path);
int showfd(const char *name, int fd);
void show_nlink(const char *path);
void same_inode(const char *a, const char *b);
void sum_fd(const char *name, int fd);
void sum_path(const char *path);
void list_dir(const char *path);
size_t acl_encode(unsigned char *b, const struct acle *e, int n);
void show_acl(const char *path, const char *name);
int mkfile(const char *path, const char *content);
int fork_as(uid_t uid, gid_t gid);	/* 0 in the child, which ends with child_done() */
void child_done(void);
void wait_child(pid_t pid);

/* Print "desc -> value" or "desc -> -1 ERRNO" for one call. */
#define T(desc, expr) ({ errno = 0; long _r = (long)(expr); int _e = errno; \
			 report((desc), _r, _e); })
#define TFD(desc, expr) ({ errno = 0; int _r = (int)(expr); int _e = errno; \
			   report_fd((desc), _r, _e); })

/* steps_fuse_ext.c: file handles, O_TMPFILE, RENAME_WHITEOUT, SGID and ACLs, FIEMAP */
void s_file_handles(void);
void s_tmpfile(void);
void s_whiteout(void);
void s_acl_kill_sgid(void);
void s_fiemap(void);

#endif
