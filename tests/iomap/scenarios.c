/*
 * scenarios.c: fixed request flows of spec 2.11, each on files of its own,
 * with the content checked after every step and the mapping types checked
 * where the filesystem leaves no choice.  Each prints its upcall counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

static unsigned long begins(struct kernel *k)
{
	return k->c.cnt.begin;
}

static void expect_alloc_type(struct kernel *k, struct vfile *f, uint64_t pos, const char *what)
{
	struct kmap m = map_at(k, f->ip, W_OP_REPORT, pos, ibs(f->ip));

	if (m.type != W_TYPE_MAPPED && m.type != W_TYPE_UNWRITTEN)
		fail("%s: %s at %llu is %s, expected allocated space", f->name, what,
		     (unsigned long long)pos, typename(m.type));
}

static void expect_type(struct kernel *k, struct vfile *f, uint64_t pos, uint16_t type,
			const char *what)
{
	struct kmap m = map_at(k, f->ip, W_OP_REPORT, pos, ibs(f->ip));

	if (m.type != type)
		fail("%s: %s: REPORT at %llu gives %s [%llu,+%llu), expected %s", f->name, what,
		     (unsigned long long)pos, typename(m.type), (unsigned long long)m.offset,
		     (unsigned long long)m.length, typename(type));
}

static void sc_basic(struct kernel *k)
{
	struct vfile f;
	struct kinode *d, *again;
	int n, err;

	vf_open(k, &f, "basic");
	vf_write(k, &f, 0, 5000, 1, 0);
	vf_check_size(k, &f);
	d = k_mkdir(k, FUSE_ROOT_ID, "dir");
	if (d->fileio || d->directio)
		fail("directory got iomap modes");
	k_readdirplus(k, FUSE_ROOT_ID, &n);
	if (n < 2)
		fail("READDIRPLUS of / listed %d entries, expected at least basic and dir", n);
	again = k_lookup(k, FUSE_ROOT_ID, "basic", &err);
	if (again != f.ip)
		fail("LOOKUP basic: %s, or another node than CREATE gave", strerror(-err));
	k_statx(k, f.ip);
	if (k->iomap)
		k_syncfs(k);
	vf_check_all(k, &f);
	vf_close(&f);
}

/* 2.11 B: buffered writes, RMW of partial blocks, END on appends, writeback. */
static void sc_bufwrite(struct kernel *k)
{
	struct vfile f;
	unsigned long e0;

	vf_open(k, &f, "buf");
	e0 = k->c.cnt.end;
	vf_write(k, &f, 100, 3000, 2, 0);		/* EOF gap [0,100) + append */
	if (k->iomap && k->c.cnt.end == e0)
		fail("buffered append sent no IOMAP_END (SIZE_CHANGED)");
	vf_check_size(k, &f);				/* END persisted the size */
	vf_check(k, &f, 0, 4096, 0);			/* from the pagecache */
	vfs_writeback(k, f.ip);
	if (k->iomap)
		expect_alloc_type(k, &f, 0, "after writeback");
	vf_check(k, &f, 0, 4096, 0);			/* from the device */
	vf_write(k, &f, 1500, 10, 3, 0);		/* RMW of a written block */
	vf_write(k, &f, 2 * MiB + 17, 70000, 4, 0);	/* far append over a gap */
	vf_check(k, &f, 0, (size_t)f.size, 0);
	vfs_writeback(k, f.ip);
	vf_check_all(k, &f);
	vf_check_report(k, &f);
	vf_write(k, &f, 8 * KiB + 1, 3 * MiB, 5, 0);	/* multi-MiB overwrite + extend */
	vfs_fsync(k, f.ip);
	vf_check_all(k, &f);
	vf_check_size(k, &f);
	k_push_times(k, f.ip);
	vf_close(&f);
}

/* 2.11 C/D: O_DIRECT into a hole, into an unwritten extent, overwrite. */
static void sc_dio(struct kernel *k)
{
	struct vfile f;
	uint64_t bs;
	unsigned long io0;
	int err;

	vf_open(k, &f, "dio");
	bs = ibs(f.ip);
	vf_write(k, &f, 1 * MiB, 256 * KiB, 6, 1);	/* hole, past EOF: APPEND */
	vf_check_size(k, &f);
	vf_check(k, &f, 0, (size_t)f.size, 1);
	vf_check(k, &f, 0, (size_t)f.size, 0);
	if (k->iomap) {
		expect_type(k, &f, 0, W_TYPE_HOLE, "never written");
		expect_type(k, &f, 1 * MiB, W_TYPE_MAPPED, "direct write converted");
	}
	err = vf_fallocate(k, &f, FL_KEEP_SIZE, 2 * MiB, 1 * MiB);
	if (err && !(err == -EOPNOTSUPP && !O.fs_extents))
		fail("fallocate KEEP_SIZE: %s", strerror(-err));
	if (!err && k->iomap && O.fs_extents) {
		expect_type(k, &f, 2 * MiB, W_TYPE_UNWRITTEN, "fallocated");
		vf_write(k, &f, 2 * MiB + 64 * KiB, 128 * KiB, 7, 1);	/* into unwritten */
		expect_type(k, &f, 2 * MiB, W_TYPE_UNWRITTEN, "head of the fallocated range");
		expect_type(k, &f, 2 * MiB + 64 * KiB, W_TYPE_MAPPED, "direct write into unwritten");
	}
	vf_check(k, &f, 0, (size_t)f.size, 1);
	io0 = k->c.cnt.ioend;
	vf_write(k, &f, 1 * MiB + bs, 4 * bs, 8, 1);	/* overwrite inside EOF */
	if (k->iomap && k->c.cnt.ioend != io0)
		fail("direct overwrite of MAPPED blocks inside EOF sent an IOEND");
	vf_write(k, &f, 3 * bs + 5, 1000, 9, 1);	/* unaligned: ENOTBLK fallback */
	vf_check_all(k, &f);
	vf_check_report(k, &f);
	vf_check_size(k, &f);
	vf_close(&f);
}

static void sc_append(struct kernel *k)
{
	struct vfile f;

	vf_open(k, &f, "append");
	for (int i = 0; i < 200; i++) {
		vf_write(k, &f, f.size, 1000 + (size_t)(i * 37) % 5000, 10 + (uint32_t)i, i % 7 == 3);
		if (i % 50 == 49) {
			vfs_writeback(k, f.ip);
			vf_check_size(k, &f);
		}
	}
	vf_check_all(k, &f);
	vf_check_report(k, &f);
	vf_close(&f);
}

/* Holes and unwritten extents read as zeros; REPORT and SEEK agree. */
static void sc_holes(struct kernel *k)
{
	struct vfile f;
	int err;

	vf_open(k, &f, "holes");
	vf_write(k, &f, 0, 10000, 11, 0);
	vf_write(k, &f, 5 * MiB, 10000, 12, 0);
	vfs_writeback(k, f.ip);
	err = vf_fallocate(k, &f, FL_KEEP_SIZE, 1 * MiB, 512 * KiB);
	if (err && !(err == -EOPNOTSUPP && !O.fs_extents))
		fail("fallocate: %s", strerror(-err));
	vf_check(k, &f, 16 * KiB, 2 * MiB, 0);		/* hole + unwritten */
	vf_check(k, &f, 1 * MiB, 1 * MiB, 1);
	vf_check_report(k, &f);
	for (uint64_t off = 0; off < f.size; off += 700 * KiB)
		vf_check_seek(k, &f, off);
	vf_check_seek(k, &f, f.size);
	if (k->iomap) {
		expect_type(k, &f, 3 * MiB, W_TYPE_HOLE, "never written");
		if (!err && O.fs_extents)
			expect_type(k, &f, 1 * MiB, W_TYPE_UNWRITTEN, "fallocated");
	}
	vf_close(&f);
}

/* 2.10: a re-read of cached ranges costs no BEGIN; invalidation after punch. */
static void sc_cache(struct kernel *k)
{
	struct vfile f;
	unsigned long b0, b1, b2;

	vf_open(k, &f, "cache");
	vf_write(k, &f, 0, 1 * MiB, 13, 1);
	vf_write(k, &f, 2 * MiB, 1 * MiB, 14, 1);
	vf_check(k, &f, 0, 3 * MiB, 0);
	b0 = begins(k);
	vf_check(k, &f, 0, 3 * MiB, 0);
	b1 = begins(k) - b0;
	if (k->iomap && O.expect_cache && b1)
		fail("re-read of a cached range cost %lu BEGIN upcalls, expected 0", b1);
	if (k->iomap && O.expect_cache && !f.ip->mc.enabled)
		fail("iomap_cache is on but no UPSERT arrived for %s", f.name);
	note("second read of 3 MiB: %lu BEGIN upcalls (%s)", b1,
	     O.expect_cache ? "mapping cache" : "no cache");
	if (vf_fallocate(k, &f, FL_PUNCH_HOLE | FL_KEEP_SIZE, 256 * KiB, 512 * KiB))
		fail("punch failed");
	b0 = begins(k);
	vf_check(k, &f, 0, 3 * MiB, 0);
	b2 = begins(k) - b0;
	if (k->iomap && !b2)
		fail("read after punch used only cached mappings (the punched range must be invalidated)");
	if (k->iomap)
		expect_type(k, &f, 256 * KiB, W_TYPE_HOLE, "punched");
	vf_check_report(k, &f);
	vf_close(&f);
}

/* 2.11 G: truncate down (partial block zeroed) and up. */
static void sc_truncate(struct kernel *k)
{
	struct vfile f;

	vf_open(k, &f, "trunc");
	vf_write(k, &f, 0, 3 * MiB, 15, 0);
	vfs_writeback(k, f.ip);
	vf_truncate(k, &f, 1 * MiB + 512 * KiB + 123);
	vf_check_size(k, &f);
	vf_check_all(k, &f);
	vf_truncate(k, &f, 4 * MiB + 7);		/* stale tail must read as zeros */
	vf_check_all(k, &f);
	vf_write(k, &f, 4 * MiB + 100, 50, 16, 0);
	vf_truncate(k, &f, 4 * MiB + 120);		/* dirty block cut */
	vf_check_all(k, &f);
	vf_truncate(k, &f, 0);
	vf_check_size(k, &f);
	vf_write(k, &f, 3000, 3000, 17, 0);
	vf_check_all(k, &f);
	vf_check_report(k, &f);
	vf_close(&f);
}

/* 2.11 H: punch and zero-range with unaligned edges. */
static void sc_punch(struct kernel *k)
{
	struct vfile f;
	int err;

	vf_open(k, &f, "punch");
	vf_write(k, &f, 0, 2 * MiB, 18, 0);
	vfs_writeback(k, f.ip);
	if ((err = vf_fallocate(k, &f, FL_PUNCH_HOLE | FL_KEEP_SIZE, 100000, 300001)))
		fail("punch: %s", strerror(-err));
	vf_check_all(k, &f);
	if (k->iomap)
		expect_type(k, &f, 200 * KiB, W_TYPE_HOLE, "punched");
	vf_write(k, &f, 1 * MiB + 5, 10, 19, 0);	/* dirty data inside the next range */
	err = vf_fallocate(k, &f, FL_ZERO_RANGE, 1 * MiB - 333, 200 * KiB);
	if (err && !(err == -EOPNOTSUPP && !O.fs_extents))
		fail("zero range: %s", strerror(-err));
	vf_check_all(k, &f);
	err = vf_fallocate(k, &f, FL_ZERO_RANGE, f.size - 1000, 64 * KiB);	/* grows */
	if (err && !(err == -EOPNOTSUPP && !O.fs_extents))
		fail("zero range past EOF: %s", strerror(-err));
	vf_check_size(k, &f);
	vf_check_all(k, &f);
	err = vf_fallocate(k, &f, 0, f.size + 5000, 100 * KiB);	/* plain, grows */
	if (err && !(err == -EOPNOTSUPP && !O.fs_extents))
		fail("fallocate: %s", strerror(-err));
	vf_check_size(k, &f);
	vf_check_all(k, &f);
	vf_check_report(k, &f);
	vf_close(&f);
}

/*
 * 2.9: inline data goes through FUSE_READ/FUSE_WRITE with fh 0.  The case
 * script puts a small inline file /inl (debugfs write: "inline me\n" times
 * 4) on an inline_data image before the daemon starts.
 */
static void sc_inline(struct kernel *k)
{
	static const char seed_text[] = "inline me\ninline me\ninline me\ninline me\n";
	struct vfile f;
	unsigned long w0, r0;
	struct kmap m;
	int err;

	if (!O.fs_inline || !k->iomap) {
		note("skipped: %s", !k->iomap ? "no iomap" : "image has no inline_data");
		return;
	}
	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "inl");
	f.ip = k_lookup(k, FUSE_ROOT_ID, "inl", &err);
	if (!f.ip)
		fail("inline_data image without /inl (the case script makes it): %s", strerror(-err));
	if (f.ip->size != sizeof(seed_text) - 1)
		fail("/inl has size %llu, expected %zu", (unsigned long long)f.ip->size,
		     sizeof(seed_text) - 1);
	f.size = f.cap = f.ip->size;
	f.data = malloc(f.cap);
	if (!f.data)
		fail("out of memory");
	memcpy(f.data, seed_text, f.size);
	m = map_at(k, f.ip, W_OP_REPORT, 0, f.size);
	if (m.type != W_TYPE_INLINE)
		fail("/inl (inline data on disk): REPORT gives %s, expected INLINE", typename(m.type));
	r0 = k->c.cnt.read;
	vf_check(k, &f, 0, 4096, 0);
	if (k->c.cnt.read == r0)
		fail("read of an INLINE mapping sent no FUSE_READ");
	w0 = k->c.cnt.write;
	vf_write(k, &f, 5, 20, 20, 0);			/* overwrite inside */
	if (k->c.cnt.write == w0)
		fail("write into an INLINE mapping sent no FUSE_WRITE");
	vf_write(k, &f, f.size, 10, 21, 0);		/* append, still small */
	vf_check_all(k, &f);
	vf_check_size(k, &f);
	vf_write(k, &f, 100, 20000, 22, 0);		/* too big for the inode */
	vfs_writeback(k, f.ip);
	vf_check_all(k, &f);
	vf_check_report(k, &f);
	vf_check_size(k, &f);
	vf_close(&f);
	/* a new small file: inline or not is the daemon's choice; report it */
	vf_open(k, &f, "inline-new");
	vf_write(k, &f, 0, 40, 23, 0);
	m = map_at(k, f.ip, W_OP_REPORT, 0, 40);
	note("a new 40-byte file is %s", typename(m.type));
	vf_check_all(k, &f);
	vf_close(&f);
}

static void sc_misc(struct kernel *k)
{
	struct vfile f;

	vf_open(k, &f, "misc");
	vf_write(k, &f, 0, 12345, 23, 0);
	vfs_fsync(k, f.ip);
	k_statx(k, f.ip);
	if (k->iomap)
		k_syncfs(k);
	k_push_times(k, f.ip);
	vf_check_size(k, &f);
	vf_close(&f);
}

/*
 * Many LOOKUPs in flight at once, their uniques 256 apart (a kernel under
 * load has many requests outstanding, and its uniques share low bits):
 * every reply naming a regular file must carry FUSE_ATTR_IOMAP_*, or the
 * kernel makes a classic inode (file data through FUSE_READ/WRITE, and an
 * oops on the next INVAL).  The daemon used to match replies to requests in
 * a 256-slot table indexed by unique, which lost one of two colliding
 * requests.  Then an INVAL for each (truncate), which must reach only
 * iomap files (kernel.c checks).
 */
#define PIPELINED 48
static void sc_pipeline(struct kernel *k)
{
	struct kinode *ip[8];
	char names[8][16];
	uint64_t base = (k->c.unique + 256) & ~255ULL;
	int i, unflagged = 0;

	for (i = 0; i < 8; i++) {
		snprintf(names[i], sizeof(names[i]), "pipe%d", i);
		ip[i] = k_create(k, FUSE_ROOT_ID, names[i], S_IFREG | 0644);
	}
	for (int round = 0; round < 4; round++) {
		for (i = 0; i < PIPELINED; i++)
			conn_send(&k->c, base + 256 * (uint64_t)i, FUSE_LOOKUP, FUSE_ROOT_ID,
				  names[i % 8], strlen(names[i % 8]) + 1);
		for (i = 0; i < PIPELINED; i++) {
			struct fuse_entry_out e;
			uint64_t u;
			size_t len;
			int err = conn_recv(&k->c, &u, &len);

			if (err || len != sizeof(e) || u < base || (u - base) % 256)
				fail("pipelined LOOKUP: reply unique %llu error %d, %zu bytes",
				     (unsigned long long)u, err, len);
			memcpy(&e, k->c.buf + sizeof(struct fuse_out_header), sizeof(e));
			k_check_attr(k, e.nodeid, &e.attr, "pipelined LOOKUP");
			if (k->fileio && !(e.attr.flags & W_ATTR_IOMAP_FILEIO))
				unflagged++;
			k_inode(k, e.nodeid)->nlookup++;
		}
		base += 256 * PIPELINED;
	}
	k->c.unique = base;
	if (unflagged)
		fail("%d of %d pipelined LOOKUP replies for regular files lack "
		     "FUSE_ATTR_IOMAP_FILEIO", unflagged, 4 * PIPELINED);
	for (i = 0; i < 8; i++)
		if (k->iomap)
			k_setattr_size(k, ip[i], 0);
}

static const struct {
	const char *name;
	void (*fn)(struct kernel *);
} scen[] = {
	{ "basic", sc_basic }, { "bufwrite", sc_bufwrite }, { "dio", sc_dio },
	{ "append", sc_append }, { "holes", sc_holes }, { "cache", sc_cache },
	{ "truncate", sc_truncate }, { "punch", sc_punch }, { "inline", sc_inline },
	{ "misc", sc_misc }, { "pipeline", sc_pipeline },
};

void run_scenarios(struct kernel *k, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(scen) / sizeof(scen[0]); i++) {
		int want = argc == 0;
		for (int j = 0; j < argc; j++)
			if (!strcmp(argv[j], scen[i].name))
				want = 1;
		if (!want)
			continue;
		scenario_begin(k, scen[i].name);
		scen[i].fn(k);
		scenario_end(k);
	}
}
