/*
 * random.c: randomized model-based test.  A few files get a long sequence
 * of writes (sub-block to multi-MiB, buffered and O_DIRECT, appends),
 * truncates, punches, zero-ranges, fallocates, writebacks and reads; every
 * read is compared with the in-memory model.  The seed decides everything:
 * `client random --seed S --ops N` reproduces a run exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static uint64_t rs;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A length: mostly small, sometimes blocks, sometimes MiBs. */
static uint64_t pick_len(uint64_t bs)
{
	switch (below(10)) {
	case 0: case 1: case 2: return 1 + below(bs);		/* sub-block */
	case 3: case 4: return bs * (1 + below(8));		/* whole blocks */
	case 5: case 6: return 1 + below(64 * 1024);
	case 7: return 1 + below(512 * 1024);
	case 8: return bs * (1 + below(64));
	default: return (1 + below(4)) * 1024 * 1024 - below(2) * below(bs * 3);	/* multi-MiB */
	}
}

static uint64_t pick_off(const struct vfile *f, uint64_t bs, uint64_t max)
{
	switch (below(6)) {
	case 0: return f->size;					/* append */
	case 1: return f->size > bs ? f->size - below(bs) : 0;	/* around EOF */
	case 2: return below(max / bs) * bs;			/* aligned */
	case 3: return f->size + below(2 * 1024 * 1024);	/* past EOF: gap */
	default: return below(f->size + 1 > max ? max : f->size + 1);
	}
}

void run_random(struct kernel *k)
{
	struct vfile *files;
	unsigned long nop[16] = { 0 }, enotsup = 0;
	static const char *names[] = { "write", "dwrite", "read", "dread", "trunc", "punch",
				       "zero", "falloc", "writeback", "report", "seek", "fsync" };
	char label[64];

	rs = O.seed;
	snprintf(label, sizeof(label), "random seed %llu", (unsigned long long)O.seed);
	scenario_begin(k, label);
	note("seed %llu, %ld ops, %d files, max size %llu (reproduce: client random --seed %llu --ops %ld)",
	     (unsigned long long)O.seed, O.ops, O.nfiles, (unsigned long long)O.maxsize,
	     (unsigned long long)O.seed, O.ops);
	files = calloc((size_t)O.nfiles, sizeof(*files));
	if (!files)
		fail("out of memory");
	for (int i = 0; i < O.nfiles; i++) {
		char n[32];
		snprintf(n, sizeof(n), "r%d", i);
		vf_open(k, &files[i], n);
	}
	for (long op = 0; op < O.ops; op++) {
		struct vfile *f = &files[below((uint64_t)O.nfiles)];
		uint64_t bs = ibs(f->ip), max = O.maxsize, off, len;
		int kind = (int)below(100), err;

		snprintf(g_scenario, sizeof(g_scenario), "random seed %llu op %ld",
			 (unsigned long long)O.seed, op);
		if (kind < 30) {			/* buffered write */
			off = pick_off(f, bs, max);
			len = pick_len(bs);
			if (off >= max)
				off = below(max);
			if (off + len > max)
				len = max - off;
			if (g_verbose)
				note("%s write [%llu,+%llu)", f->name, (unsigned long long)off,
				     (unsigned long long)len);
			vf_write(k, f, off, (size_t)len, (uint32_t)rnd(), 0);
			nop[0]++;
		} else if (kind < 42) {			/* O_DIRECT write */
			off = pick_off(f, bs, max);
			len = pick_len(bs);
			if (below(5)) {			/* mostly aligned */
				off = off / bs * bs;
				len = (len + bs - 1) / bs * bs;
			}
			if (off >= max)
				off = below(max / bs) * bs;
			if (off + len > max)
				len = (max - off) / bs * bs;
			if (!len)
				continue;
			if (g_verbose)
				note("%s dwrite [%llu,+%llu)", f->name, (unsigned long long)off,
				     (unsigned long long)len);
			vf_write(k, f, off, (size_t)len, (uint32_t)rnd(), 1);
			nop[1]++;
		} else if (kind < 60) {			/* read */
			off = below(f->size + bs);
			len = pick_len(bs);
			if (len > 4u << 20)
				len = 4u << 20;
			if (g_verbose)
				note("%s read [%llu,+%llu)", f->name, (unsigned long long)off,
				     (unsigned long long)len);
			vf_check(k, f, off, (size_t)len, 0);
			nop[2]++;
		} else if (kind < 66) {			/* O_DIRECT read */
			off = below(f->size + bs) / bs * bs;
			len = (pick_len(bs) + bs - 1) / bs * bs;
			if (len > 4u << 20)
				len = 4u << 20;
			vf_check(k, f, off, (size_t)len, 1);
			nop[3]++;
		} else if (kind < 73) {			/* truncate up or down */
			uint64_t ns = below(2) ? below(f->size + 1) : f->size + below(3u << 20);
			if (ns > max)
				ns = below(max);
			if (g_verbose)
				note("%s truncate %llu", f->name, (unsigned long long)ns);
			vf_truncate(k, f, ns);
			nop[4]++;
		} else if (kind < 88) {			/* fallocate family */
			static const int modes[] = { FL_PUNCH_HOLE | FL_KEEP_SIZE, FL_ZERO_RANGE,
						     FL_ZERO_RANGE | FL_KEEP_SIZE, 0, FL_KEEP_SIZE };
			int m = modes[below(5)];
			off = below(f->size + 256 * 1024);
			if (below(3) == 0)
				off = off / bs * bs;
			len = 1 + pick_len(bs);
			if (off >= max)
				off = below(max);
			if (off + len > max)
				len = max - off;
			if (!len)
				continue;
			if (g_verbose)
				note("%s fallocate mode 0x%x [%llu,+%llu)", f->name, m,
				     (unsigned long long)off, (unsigned long long)len);
			err = vf_fallocate(k, f, m, off, len);
			if (err == -EOPNOTSUPP && !O.fs_extents)
				enotsup++;
			else if (err)
				fail("%s: fallocate mode 0x%x [%llu,+%llu): %s", f->name, m,
				     (unsigned long long)off, (unsigned long long)len, strerror(-err));
			nop[m & FL_PUNCH_HOLE ? 5 : m & FL_ZERO_RANGE ? 6 : 7]++;
		} else if (kind < 93) {
			vfs_writeback(k, f->ip);
			nop[8]++;
		} else if (kind < 95) {
			vf_check_report(k, f);
			nop[9]++;
		} else if (kind < 97) {
			vf_check_seek(k, f, below(f->size + bs));
			nop[10]++;
		} else {
			vfs_fsync(k, f->ip);
			vf_check_size(k, f);
			nop[11]++;
		}
		if (O.paranoid)
			vf_check_disk(k, f);
		/* too much dirty data: the flusher thread writes some back */
		if (vfs_ndirty(f->ip) * bs > (16u << 20))
			vfs_writeback(k, f->ip);
		if (op % 1000 == 999) {
			for (int i = 0; i < O.nfiles; i++) {
				vf_check_all(k, &files[i]);
				vf_check_size(k, &files[i]);
			}
		}
	}
	snprintf(g_scenario, sizeof(g_scenario), "random seed %llu final", (unsigned long long)O.seed);
	for (int i = 0; i < O.nfiles; i++) {
		vfs_fsync(k, files[i].ip);
		vf_check_all(k, &files[i]);
		vf_check_report(k, &files[i]);
		vf_check_size(k, &files[i]);
		note("%s: final size %llu", files[i].name, (unsigned long long)files[i].size);
	}
	{
		char line[512];
		int n = 0;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%lu", names[i], nop[i]);
		note("ops:%s%s", line, enotsup ? " (some fallocate modes EOPNOTSUPP)" : "");
	}
	scenario_end(k);
	for (int i = 0; i < O.nfiles; i++)
		vf_close(&files[i]);
	free(files);
	snprintf(g_scenario, sizeof(g_scenario), "random seed %llu", (unsigned long long)O.seed);
}
