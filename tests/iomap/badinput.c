/*
 * badinput.c: requests a well-behaved kernel would not send, and files
 * whose extent tree was damaged before the daemon started.  The daemon must
 * answer each with an errno (or, where the brief allows, a mapping that
 * passes every kernel check), never crash, and keep serving.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static const char *ename(int err)
{
	static char b[64];

	snprintf(b, sizeof(b), "%s (%d)", strerror(-err), err);
	return b;
}

/* The daemon is still there and serving. */
static void alive(struct kernel *k, const char *after)
{
	struct kinode *root = k_inode(k, FUSE_ROOT_ID);
	struct fuse_getattr_in in = { 0, 0, 0 };
	struct fuse_attr_out out;
	int err;

	(void)root;
	err = conn_call_exact(&k->c, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in), NULL, 0, &out,
			      sizeof(out));
	if (err)
		fail("after %s: GETATTR of / fails: %s", after, ename(err));
}

/* An errno reply (never ENOSYS), optionally restricted to a set. */
static int want_errno(int err, const char *what, const int *allowed, int nallowed)
{
	if (!err)
		return 0;
	if (err == -ENOSYS)
		fail("%s: ENOSYS", what);
	if (nallowed) {
		for (int i = 0; i < nallowed; i++)
			if (err == -allowed[i])
				return 1;
		fail("%s: %s, not one of the expected errnos", what, ename(err));
	}
	return 1;
}

/* errno, or a mapping the kernel would accept. */
static void errno_or_valid(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos,
			   uint64_t count, const char *what)
{
	struct w_iomap_begin_out o;
	int err = k_begin_raw(k, ip->nodeid, ip->ino, op, pos, count, &o);
	const char *why;

	if (want_errno(err, what, NULL, 0)) {
		note("%s: %s", what, ename(err));
		return;
	}
	why = k_validate_begin(k, ip, op, pos, &o);
	if (why)
		fail("%s: reply [%llu,+%llu) %s: %s (kernel: EIO)", what, (unsigned long long)o.offset,
		     (unsigned long long)o.length, typename(o.read_type), why);
	note("%s: valid mapping %s [%llu,+%llu)", what, typename(o.read_type),
	     (unsigned long long)o.offset, (unsigned long long)o.length);
}

void run_badinput(struct kernel *k)
{
	struct vfile f;
	struct w_iomap_begin_out o;
	struct fuse_attr a;
	int err;
	static const int stale[] = { ESTALE, ENOENT, EINVAL, EBADF };
	static const int big[] = { EFBIG, EINVAL, EOVERFLOW };

	if (!k->iomap)
		fail("badinput needs an iomap session");
	scenario_begin(k, "badinput setup");
	vf_open(k, &f, "victim");
	vf_write(k, &f, 0, 64 * 1024, 1, 0);
	vfs_writeback(k, f.ip);
	vf_truncate(k, &f, 1024 * 1024);	/* [64K, 1M) stays a hole */
	scenario_end(k);

	scenario_begin(k, "badinput unknown inode");
	err = k_begin_raw(k, 999999, 999999, 0, 0, 4096, &o);
	if (!want_errno(err, "BEGIN for node 999999", stale, 4))
		fail("BEGIN for never-looked-up node 999999 returned a mapping (%s)",
		     typename(o.read_type));
	note("BEGIN unknown node: %s", ename(err));
	err = k_ioend_raw(k, 999999, 999999, W_IOEND_UNWRITTEN, 0, 0, 4096);
	if (!want_errno(err, "IOEND for node 999999", stale, 4))
		fail("IOEND for unknown node 999999 succeeded");
	note("IOEND unknown node: %s", ename(err));
	{
		struct w_iomap_end_in in = { W_OP_WRITE, 0, 999999, 0, 4096, 4096, 4096, 0,
					     W_TYPE_MAPPED, W_F_SIZE_CHANGED, 0 };
		err = conn_call_exact(&k->c, W_FUSE_IOMAP_END, 999999, &in, sizeof(in), NULL, 0,
				      NULL, 0);
		if (!want_errno(err, "END for node 999999", stale, 4))
			fail("END(SIZE_CHANGED) for unknown node 999999 succeeded");
		note("END unknown node: %s", ename(err));
	}
	err = k_begin_raw(k, f.ip->nodeid, f.ip->ino + 1000, 0, 0, 4096, &o);
	note("BEGIN with attr_ino not matching the node: %s", err ? ename(err) : "mapping");
	if (err == -ENOSYS)
		fail("BEGIN with mismatched attr_ino: ENOSYS");
	alive(k, "unknown inode");
	scenario_end(k);

	scenario_begin(k, "badinput past maxbytes");
	err = k_begin_raw(k, f.ip->nodeid, f.ip->ino, W_OP_WRITE, k->maxbytes, 4096, &o);
	if (!want_errno(err, "BEGIN(WRITE) at s_maxbytes", big, 3))
		fail("BEGIN(WRITE) at s_maxbytes %llu returned a mapping",
		     (unsigned long long)k->maxbytes);
	note("BEGIN(WRITE) at s_maxbytes: %s", ename(err));
	err = k_begin_raw(k, f.ip->nodeid, f.ip->ino, W_OP_WRITE | W_OP_DIRECT, 1ULL << 62, 1 << 20, &o);
	if (!want_errno(err, "BEGIN(DIRECT|WRITE) at 2^62", big, 3))
		fail("BEGIN(DIRECT|WRITE) at 2^62 returned a mapping");
	note("BEGIN(DIRECT|WRITE) at 2^62: %s", ename(err));
	err = k_begin_raw(k, f.ip->nodeid, f.ip->ino, W_OP_WRITE, ~0ULL - 4095, 8192, &o);
	if (!want_errno(err, "BEGIN(WRITE) with pos+count overflowing", big, 3))
		fail("BEGIN(WRITE) with pos+count overflowing returned a mapping");
	note("BEGIN(WRITE) pos+count overflow: %s", ename(err));
	errno_or_valid(k, f.ip, 0, k->maxbytes - 4096, 1ULL << 40, "BEGIN(read) just below s_maxbytes, huge count");
	errno_or_valid(k, f.ip, W_OP_REPORT, 1ULL << 62, 4096, "BEGIN(REPORT) at 2^62");
	errno_or_valid(k, f.ip, 0, 0, 0, "BEGIN(read) with count 0");
	alive(k, "past maxbytes");
	scenario_end(k);

	scenario_begin(k, "badinput garbage opflags");
	{
		static const uint32_t ops[] = { 0xFFFF0000u, 0x100, 0x800, 0xFFFFFFFFu,
						W_OP_REPORT | W_OP_WRITE | W_OP_ZERO };
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			char what[64];
			snprintf(what, sizeof(what), "BEGIN opflags 0x%x", ops[i]);
			errno_or_valid(k, f.ip, ops[i], 0, 4096, what);
		}
		err = k_ioend_raw(k, f.ip->nodeid, f.ip->ino, 0x7FF0, 0, 0, 4096);
		note("IOEND with undefined ioendflags 0x7ff0: %s", err ? ename(err) : "0");
		if (err == -ENOSYS)
			fail("IOEND: ENOSYS");
	}
	alive(k, "garbage opflags");
	scenario_end(k);

	scenario_begin(k, "badinput ioend never allocated");
	err = k_ioend_raw(k, f.ip->nodeid, f.ip->ino, W_IOEND_UNWRITTEN, 0, 512 * 1024, 64 * 1024);
	if (!err)
		fail("IOEND(UNWRITTEN) for [512K,+64K), which was never allocated, returned 0; expected an errno");
	want_errno(err, "IOEND never allocated", NULL, 0);
	note("IOEND(UNWRITTEN) over a hole: %s", ename(err));
	err = k_ioend_raw(k, f.ip->nodeid, f.ip->ino, W_IOEND_UNWRITTEN | W_IOEND_DIRECT, -EIO,
			  512 * 1024, 4096);
	note("IOEND carrying I/O error -EIO: %s", err ? ename(err) : "0");
	if (err == -ENOSYS)
		fail("IOEND with an error: ENOSYS");
	k_getattr(k, f.ip, &a);
	if (a.size != f.size)
		fail("after the bad IOENDs the size is %llu, expected %llu", (unsigned long long)a.size,
		     (unsigned long long)f.size);
	vf_check_all(k, &f);
	alive(k, "ioend never allocated");
	scenario_end(k);
	vf_close(&f);
}

/*
 * Files whose extent tree the case script damaged with debugfs before the
 * daemon started: every BEGIN on them must be an errno reply; a mapping
 * would send I/O somewhere the file does not own.
 */
void run_corrupt(struct kernel *k, int argc, char **argv)
{
	static const uint32_t ops[] = { 0, W_OP_REPORT, W_OP_WRITE, W_OP_WRITE | W_OP_DIRECT,
					W_OP_DIRECT, W_OP_ZERO };

	if (!k->iomap)
		fail("corrupt needs an iomap session");
	for (int i = 0; i < argc; i++) {
		struct kinode *ip;
		int err;
		char label[96];

		snprintf(label, sizeof(label), "corrupt %s", argv[i]);
		scenario_begin(k, label);
		ip = k_lookup(k, FUSE_ROOT_ID, argv[i], &err);
		if (!ip) {
			/* refusing the inode itself is fine */
			if (err == -ENOSYS || !err)
				fail("LOOKUP %s: %s", argv[i], err ? ename(err) : "negative entry");
			note("LOOKUP refused: %s", ename(err));
			alive(k, label);
			scenario_end(k);
			continue;
		}
		for (size_t j = 0; j < sizeof(ops) / sizeof(ops[0]); j++) {
			struct w_iomap_begin_out o;
			const char *why;

			err = k_begin_raw(k, ip->nodeid, ip->ino, ops[j], 0, 64 * 1024, &o);
			if (err) {
				want_errno(err, label, NULL, 0);
				note("BEGIN op 0x%x at 0: %s", ops[j], ename(err));
				continue;
			}
			why = k_validate_begin(k, ip, ops[j], 0, &o);
			fail("BEGIN op 0x%x at 0 on a damaged extent tree returned a mapping: %s [%llu,+%llu) dev %u addr 0x%llx%s%s",
			     ops[j], typename(o.read_type), (unsigned long long)o.offset,
			     (unsigned long long)o.length, o.read_dev,
			     (unsigned long long)o.read_addr, why ? "; and it is invalid: " : "",
			     why ? why : "");
		}
		conn_drain(&k->c);
		alive(k, label);
		scenario_end(k);
	}
}
