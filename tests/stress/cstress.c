/*
 * cstress.c: a concurrency stress of a few shared files, judged exactly.
 * Our own tool, for tests/cases/concurrency-stress: writers, readers,
 * truncaters/punchers and renamers (threads) all work on the same few files
 * and the same ranges at once.
 *
 *   cstress DIR [-s SEED] [-t SECONDS] [-w W] [-r R] [-T T] [-R N] [-f FILES]
 *           [-u UNITS] [-c CHECKPOINT_SECONDS] [-o EXPECT_DIR] [-i INJECT] [-X]
 *           [-F] [-W] [-B] [-x CLASSES]
 *
 * Data: every write is of whole 4 KiB units at unit-aligned offsets, and a
 * unit's bytes are a function of (run seed, file id, unit index, write
 * generation): a 32-byte header naming them, then pseudo-random bytes.  So
 * any byte read is either zero or belongs to exactly one (file, offset,
 * generation); a byte of another file, of another offset or of a generation
 * no longer current (a stale or freed-and-reallocated block) cannot pass.
 *
 * Ordering: mutations of one range (write, punch, zero range) hold this
 * tool's lock for each unit they touch and a shared per-file size lock;
 * anything that changes the size (truncate, extending write or fallocate)
 * holds the size lock exclusively.  So the mutations of one unit, and the
 * size changes of one file, are totally ordered, and each is recorded in a
 * small history with the ticks (a global counter) just before and just after
 * its system call.  Readers take no lock: they race with everything.  A read
 * made between ticks rs and re may return, for each byte, the value of the
 * state current at rs or of any mutation of that unit overlapping [rs, re]
 * (bytes of two legitimate states may mix: the kernel does not make buffered
 * reads atomic against writes); its length must match a size possible in
 * that window.  Names work the same way: renames (exchange, or move to a
 * free name) are serialised and recorded, and an open or stat by name must
 * find one of the files that name could hold during the call, identified by
 * inode number, and then that file's data.  One exception to the
 * ordering, on purpose: a truncater sometimes runs a write and a truncate or
 * punch of one file at once (op_race_pair); the file must then end exactly
 * as one of the two orders left it.
 *
 * Checkpoints (-c): every few seconds all threads park, and the whole state
 * must equal the model exactly (names, sizes, every byte) through the page
 * cache and again with O_DIRECT after dropping the files' pages.  At the end
 * the same check, then sync and drop_caches and check again; -o writes the
 * expected final files (EXPECT_DIR/list: "path size", and one file per
 * path with '/' as '_') for the script's debugfs comparison.
 *
 * Self-test (-i MODE, at the first checkpoint, behind the model's back; the
 * run must then fail): byte (flip one byte), stale (rewrite a unit with an
 * older generation of itself), foreign (another file's unit), size (one byte
 * longer), lost (punch a written unit), name (rename behind the model);
 * race-stale, race-foreign, race-size do the same for half a second while
 * everything runs, then repair it, for the readers' judge alone (use -c 0);
 * pair-size makes the file one byte longer right after the first racing
 * write+truncate pair, before its outcome is judged.  -X
 * drops this tool's ordering of mutations, so the model stops being exact:
 * the judge must notice.
 *
 * A kernel race kept out of the default run (-F lets it in): on a
 * write-through FUSE mount, a page-cache invalidation (fadvise DONTNEED, an
 * O_DIRECT write, an open without keep_cache, an attribute reply with a new
 * mtime under auto_inval_data) during a buffered write, plus a buffered
 * read that refills the page from the server before the write reaches it,
 * leaves a page older than the completed write in the cache: later buffered
 * reads return an older generation, or zeros.  Seen with our daemon and
 * with libfuse's passthrough_ll over kernel ext4 alike (kernel 6.18): the
 * kernel's FUSE write path unlocks uptodate folios before sending
 * FUSE_WRITE.  O_DIRECT reads (served by the daemon) never see old data, nor
 * does kernel ext4 under the same load.  So by default: the files get the
 * no-atime flag (our daemon's opens then keep the cache), no fadvise, no
 * O_DIRECT writes, and a buffered read never overlaps a buffered write of
 * the same file (they still race with everything else; O_DIRECT reads race
 * with everything).  -F drops all four.
 *
 * Other variants: -W no O_DIRECT writes even with -F; -B no buffered reads
 * (O_DIRECT instead); -x skips op classes: n(ame lookups by readers),
 * d(irect reads), a(llocate), p(unch and zero range).
 *
 * Reproducible: each thread draws its operation choices from its own
 * generator seeded from SEED; the interleaving is the scheduler's.
 * Exit status 0: every check passed; 1: a check failed (FAIL: lines say
 * what, where, and what was allowed); 2: usage or setup error.
 */
#include "cstress.h"

/* ---- parameters ---- */

const char *top;
uint64_t seed;
static int run_seconds = 20, n_writers = 2, n_readers = 3, n_truncaters = 2;
static int n_renamers = 1, checkpoint_every = 5;
int n_files = 4, max_units = 64;
static const char *expect_dir, *inject;
int no_order;
static int direct_writes = 1;	/* -W: none */
static int buffered_reads = 1;	/* -B: none, O_DIRECT instead */
int racing_fadvise;	/* -F: page-cache invalidations race with writes */
static pthread_mutex_t rename_lock = PTHREAD_MUTEX_INITIALIZER;
const char *skip_ops = "";	/* -x: n(ames) d(irect reads) a(llocate) p(unch) */
int use_direct = 1;
static int use_zero_range = 1;

/* ---- per-thread state ---- */

static int n_workers;
static struct worker *workers;

/* Parking at checkpoints. */
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static int park_wanted, parked, run_over;

static void maybe_park(void)
{
	pthread_mutex_lock(&park_lock);
	if (park_wanted) {
		parked++;
		pthread_cond_broadcast(&park_cond);
		while (park_wanted)
			pthread_cond_wait(&park_cond, &park_lock);
		parked--;
	}
	pthread_mutex_unlock(&park_lock);
}

void syscall_failed(const char *op, int file, int err)
{
	failf("%s on file %d: %s", op, file, strerror(err));
}

/* ---- mutations ---- */

static void op_write(struct worker *w, struct file_model *f)
{
	uint32_t n = 1 + (uint32_t)below(&w->rng, MAX_IO_UNITS);
	uint32_t u0 = (uint32_t)below(&w->rng, (uint64_t)max_units - n + 1);
	int direct = use_direct && below(&w->rng, 4) == 0 && direct_writes && racing_fadvise;
	uint64_t end = (uint64_t)(u0 + n) * UNIT, gen = atomic_fetch_add(&next_gen, 1);
	int exclusive = 0, fd = direct ? w->dfd[f->id] : w->fd[f->id];
	struct mutation m = { .f = f };
	uint32_t u;
	ssize_t got;

	for (u = 0; u < n; u++)
		unit_content(w->buf + (size_t)u * UNIT, f->id, u0 + u, gen);
	size_lock(f, 0);
	if (end > f->size) {	/* extends: nobody else may touch the file */
		size_unlock(f);
		size_lock(f, 1);
		exclusive = 1;
	} else {
		range_lock(f, u0, n);
	}
	/* last: a writer waiting for a range must not hold up readers */
	if (!direct && !racing_fadvise)
		pthread_rwlock_rdlock(&f->buffered_lock);
	pthread_mutex_lock(&f->hist_lock);
	{
		uint64_t start = tick();

		for (u = 0; u < n; u++)
			m.ev[m.n_ev++] = unit_begin(&f->units[u0 + u], start,
						    (struct unit_state){ gen, UNIT }, direct ? 'd' : 'w');
		if (end > f->size)
			m.sev = size_begin(f, start, end, 1);
	}
	pthread_mutex_unlock(&f->hist_lock);
	got = pwrite(fd, w->buf, (size_t)n * UNIT, (off_t)u0 * UNIT);
	mutation_end(&m);
	if (got != (ssize_t)n * UNIT)
		syscall_failed(direct ? "O_DIRECT pwrite" : "pwrite", f->id, got < 0 ? errno : EIO);
	if (!direct && !racing_fadvise)
		pthread_rwlock_unlock(&f->buffered_lock);
	if (!exclusive)
		range_unlock(f, u0, n);
	size_unlock(f);
}

/* Truncate to a random size, often unaligned (a partial last block). */
static void op_truncate(struct worker *w, struct file_model *f)
{
	uint64_t size = below(&w->rng, (uint64_t)max_units * UNIT + 1);
	struct mutation m = { .f = f };
	uint32_t u;

	switch (below(&w->rng, 3)) {
	case 0: size -= size % UNIT; break;
	case 1: size -= size % 1024; break;
	}
	if (below(&w->rng, 4) == 0)
		size /= 8;		/* small files too */
	size_lock(f, 1);
	pthread_mutex_lock(&f->hist_lock);
	{
		uint64_t start = tick();
		uint32_t first_gone = (uint32_t)((size + UNIT - 1) / UNIT);

		for (u = first_gone; u < (uint32_t)max_units; u++)
			if (f->units[u].cur.gen)
				m.ev[m.n_ev++] = unit_begin(&f->units[u], start, (struct unit_state){ 0, 0 }, 't');
		if (size % UNIT) {
			struct unit_model *um = &f->units[size / UNIT];

			if (um->cur.gen && um->cur.valid > size % UNIT)
				m.ev[m.n_ev++] = unit_begin(um, start,
							    (struct unit_state){ um->cur.gen, (uint32_t)(size % UNIT) }, 't');
		}
		m.sev = size_begin(f, start, size, 0);
	}
	pthread_mutex_unlock(&f->hist_lock);
	if (ftruncate(w->fd[f->id], (off_t)size) < 0) {
		int err = errno;

		mutation_end(&m);
		syscall_failed("ftruncate", f->id, err);
	} else {
		mutation_end(&m);
	}
	size_unlock(f);
}

/* Punch or zero a unit-aligned range (the size stays). */
static void op_punch(struct worker *w, struct file_model *f, int zero_range)
{
	uint32_t n = 1 + (uint32_t)below(&w->rng, MAX_IO_UNITS);
	uint32_t u0 = (uint32_t)below(&w->rng, (uint64_t)max_units - n + 1), u;
	int mode = FALLOC_FL_KEEP_SIZE | (zero_range ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE);
	struct mutation m = { .f = f };

	size_lock(f, 0);
	range_lock(f, u0, n);
	pthread_mutex_lock(&f->hist_lock);
	{
		uint64_t start = tick();

		for (u = u0; u < u0 + n; u++)
			if (f->units[u].cur.gen)
				m.ev[m.n_ev++] = unit_begin(&f->units[u], start, (struct unit_state){ 0, 0 },
							    zero_range ? 'z' : 'p');
	}
	pthread_mutex_unlock(&f->hist_lock);
	if (fallocate(w->fd[f->id], mode, (off_t)u0 * UNIT, (off_t)n * UNIT) < 0) {
		int err = errno;

		mutation_end(&m);
		syscall_failed(zero_range ? "fallocate ZERO_RANGE" : "fallocate PUNCH_HOLE", f->id, err);
	} else {
		mutation_end(&m);
	}
	range_unlock(f, u0, n);
	size_unlock(f);
}

/*
 * Preallocate a range: data stays, holes become unwritten (read as zeros);
 * beyond the size with KEEP_SIZE (a later extension must still read
 * zeros there), or extending the size.
 */
static void op_allocate(struct worker *w, struct file_model *f)
{
	uint64_t off = below(&w->rng, (uint64_t)max_units * UNIT);
	uint64_t len = 1 + below(&w->rng, (uint64_t)MAX_IO_UNITS * UNIT);
	int keep = below(&w->rng, 2);
	struct mutation m = { .f = f };

	if (off + len > (uint64_t)max_units * UNIT)
		len = (uint64_t)max_units * UNIT - off;
	size_lock(f, !keep);
	if (!keep && off + len > f->size) {
		pthread_mutex_lock(&f->hist_lock);
		m.sev = size_begin(f, tick(), off + len, 1);	/* ext4 grows it extent by extent */
		pthread_mutex_unlock(&f->hist_lock);
	}
	if (fallocate(w->fd[f->id], keep ? FALLOC_FL_KEEP_SIZE : 0, (off_t)off, (off_t)len) < 0) {
		int err = errno;

		mutation_end(&m);
		syscall_failed("fallocate", f->id, err);
	} else {
		mutation_end(&m);
	}
	size_unlock(f);
}

/* ---- reads ---- */

static void read_file(struct worker *w, struct file_model *f, int fd, int direct, const char *how)
{
	if (!direct && !buffered_reads && use_direct) {
		fd = w->dfd[f->id];
		direct = 1;
		how = "O_DIRECT read";
	}
	uint64_t len = 1 + below(&w->rng, (uint64_t)MAX_IO_UNITS * UNIT);
	uint64_t off = below(&w->rng, (uint64_t)max_units * UNIT + UNIT);
	uint64_t rs, re;
	ssize_t got;

	if (direct || below(&w->rng, 2)) {	/* aligned (O_DIRECT needs it) */
		off -= off % 512;
		len = (len + 511) & ~511ULL;
	}
	if (!direct && !racing_fadvise)
		pthread_rwlock_wrlock(&f->buffered_lock);
	rs = tick();
	got = pread(fd, w->buf, len, (off_t)off);
	re = tick();
	if (!direct && !racing_fadvise)
		pthread_rwlock_unlock(&f->buffered_lock);
	if (got < 0) {
		syscall_failed(how, f->id, errno);
		return;
	}
	judge_read(f, w->buf, off, len, (uint64_t)got, rs, re, how, w->content);
}

static void name_mismatch(const char *op, int s, int id, uint64_t rs, uint64_t re)
{
	char path[4096];

	slot_path(path, sizeof(path), s);
	failf("%s %s found %s, which that name never held during the call (model now: %s) [ticks %" PRIu64 "-%" PRIu64 "]",
	      op, path, describe_id(id, (char[24]){ 0 }), describe_id(slots[s].cur, (char[24]){ 0 }), rs, re);
}

/* Open a name and read from it: the file must be one the name could hold. */
static void read_by_name(struct worker *w)
{
	int s = (int)below(&w->rng, (uint64_t)n_slots);
	int direct = use_direct && (below(&w->rng, 3) == 0 || !buffered_reads);
	char path[4096];
	uint64_t rs, re;
	struct stat st;
	int fd, id, ok;

	slot_path(path, sizeof(path), s);
	rs = tick();
	if (below(&w->rng, 2)) {
		int r = stat(path, &st);
		int err = errno;

		re = tick();
		if (r < 0 && err != ENOENT) {
			failf("stat %s: %s", path, strerror(err));
			return;
		}
		id = r < 0 ? -1 : file_by_ino(st.st_ino);
		if (r == 0 && id < 0) {
			failf("stat %s: inode %lu is none of the files", path, (unsigned long)st.st_ino);
			return;
		}
		pthread_mutex_lock(&names_hist_lock);
		ok = name_allows(s, rs, re, id);
		pthread_mutex_unlock(&names_hist_lock);
		if (!ok)
			name_mismatch("stat", s, id, rs, re);
		else if (id >= 0) {
			/* stat's size raced with size changes too */
			pthread_mutex_lock(&files[id].hist_lock);
			ok = size_allows(&files[id], rs, re, 0, UINT64_MAX / 2, (uint64_t)st.st_size, 0);
			pthread_mutex_unlock(&files[id].hist_lock);
			if (!ok) {
				char sizes[600];

				pthread_mutex_lock(&files[id].hist_lock);
				size_history(&files[id], sizes, sizeof(sizes));
				pthread_mutex_unlock(&files[id].hist_lock);
				failf("stat %s: size %" PRIu64 " is no size file %d had during the call [ticks %" PRIu64 "-%" PRIu64 "]; recent sizes: %s",
				      path, (uint64_t)st.st_size, id, rs, re, sizes);
			}
		}
		return;
	}
	fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	{
		int err = errno;

		re = tick();
		if (fd < 0 && err != ENOENT) {
			failf("open %s: %s", path, strerror(err));
			return;
		}
	}
	if (fd < 0) {
		id = -1;
	} else {
		if (fstat(fd, &st) < 0) {
			failf("fstat %s: %s", path, strerror(errno));
			close(fd);
			return;
		}
		id = file_by_ino(st.st_ino);
		if (id < 0) {
			failf("open %s: inode %lu is none of the files", path, (unsigned long)st.st_ino);
			close(fd);
			return;
		}
	}
	pthread_mutex_lock(&names_hist_lock);
	ok = name_allows(s, rs, re, id);
	pthread_mutex_unlock(&names_hist_lock);
	if (!ok)
		name_mismatch("open", s, id, rs, re);
	if (fd >= 0) {
		/* whatever the name, the data must be this file's */
		read_file(w, &files[id], fd, direct, direct ? "O_DIRECT read by name" : "read by name");
		close(fd);
	}
}

/* ---- renames ---- */

static void op_rename(struct worker *w)
{
	int a = (int)below(&w->rng, (uint64_t)n_slots), b = (int)below(&w->rng, (uint64_t)n_slots);
	char pa[4096], pb[4096];
	struct name_event *ea, *eb;
	int r, exchange;

	if (a == b)
		return;
	pthread_mutex_lock(&rename_lock);
	if (slots[a].cur < 0) {
		int t = a;

		a = b;
		b = t;
	}
	if (slots[a].cur < 0) {		/* both empty: nothing to move */
		pthread_mutex_unlock(&rename_lock);
		return;
	}
	exchange = slots[b].cur >= 0;
	slot_path(pa, sizeof(pa), a);
	slot_path(pb, sizeof(pb), b);
	pthread_mutex_lock(&names_hist_lock);
	ea = &slots[a].hist[slots[a].n++ % HIST];
	eb = &slots[b].hist[slots[b].n++ % HIST];
	ea->start = eb->start = tick();
	ea->end = eb->end = 0;
	ea->after = slots[b].cur;
	eb->after = slots[a].cur;
	slots[a].cur = ea->after;
	slots[b].cur = eb->after;
	pthread_mutex_unlock(&names_hist_lock);
	r = (int)syscall(SYS_renameat2, AT_FDCWD, pa, AT_FDCWD, pb,
			 exchange ? RENAME_EXCHANGE : RENAME_NOREPLACE);
	{
		int err = errno;

		pthread_mutex_lock(&names_hist_lock);
		ea->end = eb->end = tick();
		pthread_mutex_unlock(&names_hist_lock);
		if (r < 0)
			failf("renameat2 %s %s %s: %s", pa, pb, exchange ? "EXCHANGE" : "NOREPLACE", strerror(err));
	}
	pthread_mutex_unlock(&rename_lock);
}

/* ---- the threads ---- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stop_now)) {
		struct file_model *f = &files[below(&w->rng, (uint64_t)n_files)];
		uint64_t r = below(&w->rng, 100);

		maybe_park();
		pthread_mutex_lock(&park_lock);
		if (run_over) {
			pthread_mutex_unlock(&park_lock);
			break;
		}
		pthread_mutex_unlock(&park_lock);
		switch (w->kind) {
		case 'w':
			if (r < 90)
				op_write(w, f);
			else if (r < 95)
				fdatasync(w->fd[f->id]);
			else
				read_file(w, f, w->fd[f->id], 0, "read");
			break;
		case 't':
			if (r < 35)
				op_truncate(w, f);
			else if (r < 65 && !strchr(skip_ops, 'p'))
				op_punch(w, f, 0);
			else if (r < 80 && use_zero_range && !strchr(skip_ops, 'p'))
				op_punch(w, f, 1);
			else if (r < 88 && !strchr(skip_ops, 'a'))
				op_allocate(w, f);
			else if (r < 88)
				op_truncate(w, f);
			else if (r < 95 && !no_order)
				op_race_pair(w, f);
			else
				fsync(w->fd[f->id]);
			break;
		case 'r':
			if (r < 25)
				read_file(w, f, w->fd[f->id], 0, "read");
			else if (r < 70 && use_direct && !strchr(skip_ops, 'd'))
				read_file(w, f, w->dfd[f->id], 1, "O_DIRECT read");
			else if (r < 95 && !strchr(skip_ops, 'n'))
				read_by_name(w);
			else if (racing_fadvise)	/* forget cached pages: next reads go to the daemon */
				posix_fadvise(w->fd[f->id], 0, 0, POSIX_FADV_DONTNEED);
			else
				read_file(w, f, w->fd[f->id], 0, "read");
			break;
		case 'n':
			if (r < 50 || strchr(skip_ops, 'n'))
				op_rename(w);
			else
				read_by_name(w);
			break;
		}
		w->ops++;
	}
	return NULL;
}

/* ---- exact checks at quiescent points ---- */

static int open_slot(int s, int flags)
{
	char path[4096];

	slot_path(path, sizeof(path), s);
	return open(path, flags);
}

/* Everything equals the model: names, sizes, every byte.  Threads parked. */
static void verify_exact(const char *when, int direct)
{
	unsigned char *buf, *want;
	int s, i;

	if (posix_memalign((void **)&buf, UNIT, (size_t)max_units * UNIT + UNIT) ||
	    posix_memalign((void **)&want, UNIT, UNIT))
		die("out of memory");
	for (s = 0; s < n_slots; s++) {
		char path[4096];
		struct stat st;
		int r = (slot_path(path, sizeof(path), s), lstat(path, &st));
		int id = r < 0 ? -1 : file_by_ino(st.st_ino);

		if (r < 0 && errno != ENOENT)
			failf("%s: lstat %s: %s", when, path, strerror(errno));
		else if (id != slots[s].cur)
			failf("%s: %s holds %s, the model says %s", when, path,
			      describe_id(id, (char[24]){ 0 }), describe_id(slots[s].cur, (char[24]){ 0 }));
	}
	for (i = 0; i < n_files; i++) {
		struct file_model *f = &files[i];
		int fd = -1;
		ssize_t got;
		uint32_t u;

		for (s = 0; s < n_slots; s++)
			if (slots[s].cur == i)
				break;
		if (s < n_slots)
			fd = open_slot(s, O_RDONLY | (direct ? O_DIRECT : 0));
		if (fd < 0) {
			failf("%s: cannot open file %d: %s", when, i, strerror(errno));
			continue;
		}
		if (direct)
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		got = pread(fd, buf, (size_t)max_units * UNIT + UNIT, 0);
		if (got < 0) {
			failf("%s: read file %d: %s", when, i, strerror(errno));
		} else if ((uint64_t)got != f->size) {
			failf("%s: file %d: read %zd bytes, the model size is %" PRIu64, when, i, got, f->size);
		} else {
			struct stat st;

			if (fstat(fd, &st) == 0 && (uint64_t)st.st_size != f->size)
				failf("%s: file %d: stat size %" PRIu64 ", the model size is %" PRIu64,
				      when, i, (uint64_t)st.st_size, f->size);
		}
		for (u = 0; got > 0 && (uint64_t)u * UNIT < (uint64_t)got; u++) {
			struct unit_state st = f->units[u].cur;
			uint32_t len = (uint64_t)got - (uint64_t)u * UNIT < UNIT ?
				(uint32_t)((uint64_t)got - (uint64_t)u * UNIT) : UNIT;
			uint32_t p;

			if (st.gen)
				unit_content(want, i, u, st.gen);
			else
				memset(want, 0, UNIT);
			if (st.valid < UNIT)
				memset(want + st.valid, 0, UNIT - st.valid);
			if (!memcmp(want, buf + (size_t)u * UNIT, len))
				continue;
			for (p = 0; p < len && want[p] == buf[(size_t)u * UNIT + p]; p++)
				;
			{
				char what[160];

				describe_bytes(what, sizeof(what), buf + (size_t)u * UNIT, len >= 32, i, u);
				failf("%s: file %d offset %u: read 0x%02x, the model has 0x%02x (%s gen %" PRIu64 " valid %u); %s",
				      when, i, u * UNIT + p, buf[(size_t)u * UNIT + p], want[p],
				      st.gen ? "data" : "zeros", st.gen, st.valid, what);
			}
			break;
		}
		close(fd);
	}
	free(buf);
	free(want);
}

/* The expected final files, for the script's offline comparison. */
static void write_expectations(void)
{
	char path[4096], name[64];
	unsigned char *want = malloc(UNIT);
	FILE *list;
	int s;

	snprintf(path, sizeof(path), "%s/list", expect_dir);
	if (!(list = fopen(path, "w")))
		die("%s: %s", path, strerror(errno));
	for (s = 0; s < n_slots; s++) {
		struct file_model *f;
		uint64_t off;
		FILE *out;

		if (slots[s].cur < 0)
			continue;
		f = &files[slots[s].cur];
		snprintf(name, sizeof(name), "d%d_n%d", s % 2, s);
		fprintf(list, "d%d/n%d %" PRIu64 " %s\n", s % 2, s, f->size, name);
		snprintf(path, sizeof(path), "%s/%s", expect_dir, name);
		if (!(out = fopen(path, "w")))
			die("%s: %s", path, strerror(errno));
		for (off = 0; off < f->size; off += UNIT) {
			struct unit_state st = f->units[off / UNIT].cur;
			size_t len = f->size - off < UNIT ? f->size - off : UNIT;

			if (st.gen)
				unit_content(want, f->id, (uint32_t)(off / UNIT), st.gen);
			else
				memset(want, 0, UNIT);
			if (st.valid < UNIT)
				memset(want + st.valid, 0, UNIT - st.valid);
			fwrite(want, 1, len, out);
		}
		if (fclose(out))
			die("%s: %s", path, strerror(errno));
	}
	if (fclose(list))
		die("list: %s", strerror(errno));
	free(want);
}

/* ---- self-test: damage behind the model's back ---- */

static void do_inject(void)
{
	unsigned char *buf;
	int i, fd = -1, s;
	uint32_t u;

	if (posix_memalign((void **)&buf, UNIT, UNIT))
		die("out of memory");
	if (!strcmp(inject, "name")) {
		for (s = 0; s < n_slots && slots[s].cur < 0; s++)
			;
		for (i = 0; i < n_slots && slots[i].cur >= 0; i++)
			;
		if (s < n_slots && i < n_slots) {
			char a[4096], b[4096];

			slot_path(a, sizeof(a), s);
			slot_path(b, sizeof(b), i);
			if (rename(a, b) < 0)
				die("inject rename: %s", strerror(errno));
			fprintf(stderr, "cstress: injected: renamed %s to %s behind the model\n", a, b);
		}
		free(buf);
		return;
	}
	if (!strcmp(inject, "size")) {
		if (ftruncate(workers[0].fd[0], (off_t)files[0].size + 1) < 0)
			die("inject: %s", strerror(errno));
		fprintf(stderr, "cstress: injected: file 0 made one byte longer (%" PRIu64 ")\n", files[0].size + 1);
		free(buf);
		return;
	}
	/* the rest need a unit with data: find one with an older generation too */
	for (i = 0; i < n_files; i++) {
		for (u = 0; u < (uint32_t)max_units; u++) {
			struct unit_model *um = &files[i].units[u];
			uint64_t old = 0, k;

			if (!um->cur.gen || um->cur.valid < UNIT)
				continue;
			for (k = um->n; k > 0 && um->n - k < HIST; k--)
				if (um->hist[(k - 1) % HIST].after.gen &&
				    um->hist[(k - 1) % HIST].after.gen != um->cur.gen)
					old = um->hist[(k - 1) % HIST].after.gen;
			if (strcmp(inject, "stale") || old) {
				fd = workers[0].fd[i];
				if (!strcmp(inject, "byte")) {
					unit_content(buf, i, u, um->cur.gen);
					buf[1234] ^= 0x20;
				} else if (!strcmp(inject, "stale")) {
					unit_content(buf, i, u, old);
				} else if (!strcmp(inject, "foreign")) {
					unit_content(buf, (i + 1) % n_files, u, um->cur.gen);
				} else if (!strcmp(inject, "lost")) {
					memset(buf, 0, UNIT);
				} else {
					die("unknown -i %s", inject);
				}
				if (pwrite(fd, buf, UNIT, (off_t)u * UNIT) != UNIT)
					die("inject write: %s", strerror(errno));
				fprintf(stderr, "cstress: injected %s at file %d offset %u (model: gen %" PRIu64 ", older gen %" PRIu64 ")\n",
					inject, i, u * UNIT, um->cur.gen, old);
				free(buf);
				return;
			}
		}
	}
	fprintf(stderr, "cstress: nothing to inject %s into yet\n", inject);
	free(buf);
}

/*
 * Self-test of the racing judge (-i race-stale, race-foreign, race-size):
 * while everyone runs, damage a range behind the model for a moment, holding
 * this tool's locks so that no mutation touches it, then put back what the
 * model says.  No checkpoint can see it (they are off with these modes):
 * only the readers' judgement of racing reads can.
 */
static void inject_racing(void)
{
	struct file_model *f = &files[0];
	unsigned char *buf;
	int fd = workers[0].fd[0], tries;
	uint32_t u;

	if (posix_memalign((void **)&buf, UNIT, UNIT))
		die("out of memory");
	if (!strcmp(inject, "race-size")) {
		size_lock(f, 1);
		if (ftruncate(fd, (off_t)f->size + 1) < 0)
			die("inject: %s", strerror(errno));
		fprintf(stderr, "cstress: injected for 500 ms: file 0 one byte longer than %" PRIu64 "\n", f->size);
		usleep(500000);
		if (ftruncate(fd, (off_t)f->size) < 0)
			die("inject: %s", strerror(errno));
		size_unlock(f);
		free(buf);
		return;
	}
	for (tries = 0; tries < 1000; tries++) {
		uint64_t old = 0, k;
		struct unit_model *um;

		size_lock(f, 0);
		u = (uint32_t)(tries % max_units);
		range_lock(f, u, 1);
		um = &f->units[u];
		for (k = um->n; k > 0 && um->n - k < HIST; k--)
			if (um->hist[(k - 1) % HIST].after.gen &&
			    um->hist[(k - 1) % HIST].after.gen != um->cur.gen)
				old = um->hist[(k - 1) % HIST].after.gen;
		if (um->cur.gen && um->cur.valid == UNIT && (uint64_t)(u + 1) * UNIT <= f->size &&
		    (old || strcmp(inject, "race-stale"))) {
			if (!strcmp(inject, "race-stale"))
				unit_content(buf, 0, u, old);
			else
				unit_content(buf, 1, u, um->cur.gen);
			if (pwrite(fd, buf, UNIT, (off_t)u * UNIT) != UNIT)
				die("inject: %s", strerror(errno));
			fprintf(stderr, "cstress: injected for 500 ms: %s at file 0 offset %u (gen %" PRIu64 ", older %" PRIu64 ")\n",
				inject, u * UNIT, um->cur.gen, old);
			usleep(500000);
			unit_content(buf, 0, u, um->cur.gen);
			if (pwrite(fd, buf, UNIT, (off_t)u * UNIT) != UNIT)
				die("inject: %s", strerror(errno));
			range_unlock(f, u, 1);
			size_unlock(f);
			free(buf);
			return;
		}
		range_unlock(f, u, 1);
		size_unlock(f);
	}
	fprintf(stderr, "cstress: nothing to inject %s into\n", inject);
	free(buf);
}

/* ---- setup and main ---- */

static void usage(void)
{
	fprintf(stderr, "usage: cstress DIR [-s SEED] [-t SECONDS] [-w WRITERS] [-r READERS] [-T TRUNCATERS]\n"
		"               [-R RENAMERS] [-f FILES] [-u UNITS] [-c CHECKPOINT_SECONDS]\n"
		"               [-o EXPECT_DIR] [-i byte|stale|foreign|size|lost|name|race-stale|race-foreign|race-size|pair-size] [-X]\n"
		"               [-F] [-W] [-B] [-x n|d|a|p...]\n");
	exit(2);
}

static void checkpoint(const char *when, int with_inject)
{
	pthread_mutex_lock(&park_lock);
	park_wanted = 1;
	while (parked < n_workers && !run_over)
		pthread_cond_wait(&park_cond, &park_lock);
	pthread_mutex_unlock(&park_lock);
	if (with_inject && inject)
		do_inject();
	verify_exact(when, 0);
	verify_exact(when, 1);
	pthread_mutex_lock(&park_lock);
	park_wanted = 0;
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_lock);
}

static void setup_files(void)
{
	char path[4096];
	int i, s;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/d%d", top, i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die("mkdir %s: %s", path, strerror(errno));
	}
	for (s = 0; s < n_slots; s++) {
		slot_path(path, sizeof(path), s);
		if (unlink(path) < 0 && errno != ENOENT)
			die("unlink %s: %s", path, strerror(errno));
		slots[s].cur = s < n_files ? s : -1;
	}
	for (i = 0; i < n_files; i++) {
		struct file_model *f = &files[i];
		struct stat st;
		int fd, u;

		slot_path(path, sizeof(path), i);
		fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0644);
		if (fd < 0 || fstat(fd, &st) < 0)
			die("create %s: %s", path, strerror(errno));
		if (!racing_fadvise) {
			int flags = 0;

			if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 ||
			    (flags |= FS_NOATIME_FL, ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0))
				fprintf(stderr, "cstress: cannot set the no-atime flag on %s: %s\n",
					path, strerror(errno));
		}
		close(fd);
		f->id = i;
		f->ino = st.st_ino;
		{
			pthread_rwlockattr_t attr;

			pthread_rwlockattr_init(&attr);
			pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
			pthread_rwlock_init(&f->buffered_lock, &attr);
			pthread_rwlockattr_destroy(&attr);
		}
		pthread_rwlock_init(&f->size_lock, NULL);
		pthread_mutex_init(&f->hist_lock, NULL);
		for (u = 0; u < MAX_UNITS; u++)
			pthread_mutex_init(&f->units[u].range_lock, NULL);
	}
	/* probe O_DIRECT and ZERO_RANGE once */
	slot_path(path, sizeof(path), 0);
	{
		int fd = open(path, O_RDWR | O_DIRECT);

		if (fd < 0) {
			use_direct = 0;
			fprintf(stderr, "cstress: O_DIRECT open fails (%s): buffered only\n", strerror(errno));
		} else {
			if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, UNIT) < 0) {
				use_zero_range = 0;
				fprintf(stderr, "cstress: no FALLOC_FL_ZERO_RANGE (%s)\n", strerror(errno));
			}
			close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	struct timespec t0, now;
	int c, i, k, next_checkpoint;
	uint64_t total = 0;

	seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	while ((c = getopt(argc, argv, "s:t:w:r:T:R:f:u:c:o:i:XWBx:F")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': run_seconds = atoi(optarg); break;
		case 'w': n_writers = atoi(optarg); break;
		case 'r': n_readers = atoi(optarg); break;
		case 'T': n_truncaters = atoi(optarg); break;
		case 'R': n_renamers = atoi(optarg); break;
		case 'f': n_files = atoi(optarg); break;
		case 'u': max_units = atoi(optarg); break;
		case 'c': checkpoint_every = atoi(optarg); break;
		case 'o': expect_dir = optarg; break;
		case 'i': inject = optarg; break;
		case 'X': no_order = 1; break;
		case 'W': direct_writes = 0; break;
		case 'B': buffered_reads = 0; break;
		case 'x': skip_ops = optarg; break;
		case 'F': racing_fadvise = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (inject && !strcmp(inject, "pair-size")) {
		pair_inject = 1;
		inject = NULL;
	}
	top = argv[optind];
	if (n_files < 1 || n_files > MAX_FILES || max_units < MAX_IO_UNITS || max_units > MAX_UNITS ||
	    n_writers < 0 || n_readers < 0 || n_truncaters < 0 || n_renamers < 0 || run_seconds < 0)
		usage();
	n_slots = n_files + 2;
	fprintf(stderr, "cstress: seed %" PRIu64 ", %d s, %d writers %d readers %d truncaters %d renamers, %d files of up to %d KiB%s\n",
		seed, run_seconds, n_writers, n_readers, n_truncaters, n_renamers, n_files,
		max_units * UNIT / 1024, no_order ? ", NO ORDERING (-X)" : "");
	setup_files();

	n_workers = n_writers + n_readers + n_truncaters + n_renamers;
	workers = calloc((size_t)n_workers + 1, sizeof(*workers));
	for (i = 0; i < n_workers; i++) {
		struct worker *w = &workers[i];

		w->index = i;
		w->kind = i < n_writers ? 'w' : i < n_writers + n_readers ? 'r' :
			i < n_writers + n_readers + n_truncaters ? 't' : 'n';
		w->rng.s = mix64(seed + 0x1000ULL * (uint64_t)(i + 1));
		if (posix_memalign((void **)&w->buf, UNIT, (size_t)(MAX_IO_UNITS + 1) * UNIT) ||
		    !(w->content = malloc((size_t)MAX_CAND * UNIT)))
			die("out of memory");
		for (k = 0; k < n_files; k++) {
			w->fd[k] = open_slot(k, O_RDWR);
			w->dfd[k] = use_direct ? open_slot(k, O_RDWR | O_DIRECT) : -1;
			if (w->fd[k] < 0 || (use_direct && w->dfd[k] < 0))
				die("open file %d: %s", k, strerror(errno));
		}
	}
	if (n_workers == 0) {	/* injection needs a descriptor even then */
		for (k = 0; k < n_files; k++)
			workers[0].fd[k] = open_slot(k, O_RDWR);
	}
	for (i = 0; i < n_workers; i++)
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]))
			die("pthread_create failed");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	next_checkpoint = checkpoint_every;
	for (;;) {
		int elapsed;

		usleep(100000);
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (int)(now.tv_sec - t0.tv_sec);
		if (atomic_load(&stop_now) || elapsed >= run_seconds)
			break;
		if (inject && !strncmp(inject, "race-", 5) && elapsed >= 1) {
			inject_racing();
			inject = NULL;
		}
		if (checkpoint_every > 0 && elapsed >= next_checkpoint) {
			char when[64];

			snprintf(when, sizeof(when), "checkpoint at %d s", elapsed);
			checkpoint(when, next_checkpoint == checkpoint_every);
			next_checkpoint = elapsed + checkpoint_every;
		}
	}
	pthread_mutex_lock(&park_lock);
	run_over = 1;
	park_wanted = 0;
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_lock);
	for (i = 0; i < n_workers; i++) {
		pthread_join(workers[i].thread, NULL);
		total += workers[i].ops;
	}
	if (inject && checkpoint_every <= 0)
		do_inject();
	if (!atomic_load(&failures)) {
		int dc;

		verify_exact("end", 0);
		for (k = 0; k < n_files; k++)
			if (workers[0].fd[k] >= 0)
				fsync(workers[0].fd[k]);
		sync();
		dc = open("/proc/sys/vm/drop_caches", O_WRONLY);
		if (dc >= 0) {
			if (write(dc, "3", 1) != 1)
				fprintf(stderr, "cstress: drop_caches: %s\n", strerror(errno));
			close(dc);
		}
		verify_exact("end, after drop_caches", 0);
		if (use_direct)
			verify_exact("end, O_DIRECT", 1);
	}
	if (expect_dir && !atomic_load(&failures))
		write_expectations();
	for (i = 0; i < n_workers; i++) {
		fprintf(stderr, "cstress: thread %d (%c): %" PRIu64 " operations\n",
			i, workers[i].kind, workers[i].ops);
		for (k = 0; k < n_files; k++) {
			close(workers[i].fd[k]);
			if (workers[i].dfd[k] >= 0)
				close(workers[i].dfd[k]);
		}
		free(workers[i].buf);
		free(workers[i].content);
	}
	fprintf(stderr, "cstress: racing write+truncate/punch pairs: %" PRIu64 " ended write first, %" PRIu64 " the other first\n",
		(uint64_t)atomic_load(&pairs_write_first), (uint64_t)atomic_load(&pairs_other_first));
	fprintf(stderr, "cstress: %" PRIu64 " operations, final ticks %" PRIu64 ", %s\n", total,
		(uint64_t)atomic_load(&clock_ticks), atomic_load(&failures) ? "FAILED" : "all checks passed");
	free(workers);
	return atomic_load(&failures) ? 1 : 0;
}
