/*
 * model.c: the model of cstress (see cstress.c): unit contents, the
 * histories of units, sizes and names with the ticks of each change, this
 * tool's own locks, and the judgement of a racing read against every state
 * the bytes could legally show.
 */
#include "cstress.h"

/* ---- generator (splitmix64) ---- */

uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}


uint64_t rnd(struct rng *r)
{
	return mix64(r->s += 0x9e3779b97f4a7c15ULL);
}

uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

/* ---- failures ---- */

atomic_int failures;
atomic_int stop_now;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

void failf(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&failures, 1) >= 20) {
		atomic_store(&stop_now, 1);
		return;
	}
	pthread_mutex_lock(&print_lock);
	fprintf(stderr, "FAIL: cstress seed %" PRIu64 ": ", seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&print_lock);
	atomic_store(&stop_now, 1);
}

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cstress: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- unit contents ---- */


/* Byte `pos` of unit `unit` of file `file` as generation `gen` wrote it. */
void unit_content(unsigned char *buf, int file, uint32_t unit, uint64_t gen)
{
	struct unit_header h = { MAGIC, (uint32_t)file, unit, gen, seed };
	uint64_t s = mix64(seed ^ mix64(((uint64_t)file << 40) ^ ((uint64_t)unit << 20) ^ gen));
	size_t i;

	for (i = sizeof(h); i < UNIT; i += 8) {
		uint64_t w = mix64(s += 0x9e3779b97f4a7c15ULL);

		memcpy(buf + i, &w, 8);
	}
	memcpy(buf, &h, sizeof(h));
}

/* ---- the model ---- */

atomic_uint_fast64_t clock_ticks = 1;
atomic_uint_fast64_t next_gen = 1;

uint64_t tick(void)
{
	return atomic_fetch_add(&clock_ticks, 1);
}






struct file_model files[MAX_FILES];



int n_slots;
struct slot_model slots[MAX_SLOTS];
pthread_mutex_t names_hist_lock = PTHREAD_MUTEX_INITIALIZER;

void slot_path(char *buf, size_t len, int s)
{
	snprintf(buf, len, "%s/d%d/n%d", top, s % 2, s);
}

int file_by_ino(ino_t ino)
{
	int i;

	for (i = 0; i < n_files; i++)
		if (files[i].ino == ino)
			return i;
	return -1;
}

/* Record the start of a unit mutation (hist_lock held); returns its slot. */
struct unit_event *unit_begin(struct unit_model *u, uint64_t start, struct unit_state after,
			      char op)
{
	struct unit_event *e = &u->hist[u->n++ % HIST];

	e->op = op;
	e->start = start;
	e->end = 0;
	e->after = after;
	u->cur = after;
	return e;
}

struct size_event *size_begin(struct file_model *f, uint64_t start, uint64_t after, int gradual)
{
	struct size_event *e = &f->size_hist[f->size_n++ % HIST];

	e->start = start;
	e->end = 0;
	e->before = f->size;
	e->after = after;
	e->gradual = gradual;
	f->size = after;
	return e;
}


void mutation_end(struct mutation *m)
{
	uint64_t end;
	int i;

	pthread_mutex_lock(&m->f->hist_lock);
	end = tick();
	for (i = 0; i < m->n_ev; i++)
		m->ev[i]->end = end;
	if (m->sev)
		m->sev->end = end;
	pthread_mutex_unlock(&m->f->hist_lock);
}

/* ---- locks of this tool (skipped with -X) ---- */

void size_lock(struct file_model *f, int exclusive)
{
	if (no_order)
		return;
	if (exclusive)
		pthread_rwlock_wrlock(&f->size_lock);
	else
		pthread_rwlock_rdlock(&f->size_lock);
}

void size_unlock(struct file_model *f)
{
	if (!no_order)
		pthread_rwlock_unlock(&f->size_lock);
}

void range_lock(struct file_model *f, uint32_t u0, uint32_t n)
{
	uint32_t u;

	if (no_order)
		return;
	for (u = u0; u < u0 + n; u++)
		pthread_mutex_lock(&f->units[u].range_lock);
}

void range_unlock(struct file_model *f, uint32_t u0, uint32_t n)
{
	uint32_t u;

	if (no_order)
		return;
	for (u = u0; u < u0 + n; u++)
		pthread_mutex_unlock(&f->units[u].range_lock);
}

/* ---- candidates for a racing read ---- */


/*
 * The states unit u may show to a read between ticks rs and re: the one
 * current at rs and those of every mutation overlapping the window.
 * Returns the count, or -1 when the history no longer reaches back to rs
 * (a very slow read: not judged).  hist_lock held.
 */
int unit_candidates(const struct unit_model *u, uint64_t rs, uint64_t re,
		    struct unit_state *cand)
{
	uint64_t k;
	int n = 0;

	for (k = u->n; k > 0; k--) {
		const struct unit_event *e;

		if (u->n - k >= HIST)
			return -1;
		e = &u->hist[(k - 1) % HIST];
		if (e->start > re)
			continue;
		cand[n++] = e->after;
		if (e->end && e->end < rs)
			return n;
	}
	cand[n++] = (struct unit_state){ 0, 0 };	/* the initial state */
	return n;
}

/*
 * Whether a read of len bytes at off made in [rs, re] may return got bytes
 * (for stat: off 0, len "all").  The size current at rs allows exactly its
 * length.  A size change overlapping the window allows any length between
 * its before and after sizes when `reading`: the kernel copies a read in
 * batches and looks at the size again between them, so a read racing with
 * a truncate may stop anywhere in the truncated range (kernel ext4 too).
 * stat sees one size, except during an extending write, which the kernel
 * sends to the daemon in chunks, growing the size after each.
 */
int size_allows(const struct file_model *f, uint64_t rs, uint64_t re,
		uint64_t off, uint64_t len, uint64_t got, int reading)
{
	uint64_t k;

#define LEN_AT(S) ((S) <= off ? 0 : ((S) - off < len ? (S) - off : len))
	for (k = f->size_n; k > 0; k--) {
		const struct size_event *e;

		if (f->size_n - k >= HIST)
			return 1;	/* too old to judge */
		e = &f->size_hist[(k - 1) % HIST];
		if (e->start > re)
			continue;
		if (LEN_AT(e->after) == got)
			return 1;
		if (e->end && e->end < rs)
			return 0;
		if ((e->gradual || reading) &&
		    ((got >= LEN_AT(e->before) && got <= LEN_AT(e->after)) ||
		     (got >= LEN_AT(e->after) && got <= LEN_AT(e->before))))
			return 1;
	}
	return got == 0;
#undef LEN_AT
}

/* The last few size changes, newest first, for a failure message. */
void size_history(const struct file_model *f, char *out, size_t len)
{
	size_t used = 0;
	uint64_t k;

	out[0] = 0;
	for (k = f->size_n; k > 0 && f->size_n - k < 8 && used < len - 80; k--) {
		const struct size_event *e = &f->size_hist[(k - 1) % HIST];

		used += snprintf(out + used, len - used, "%s%" PRIu64 "->%" PRIu64 "%s [%" PRIu64 "-%" PRIu64 "]",
				 used ? ", " : "", e->before, e->after, e->gradual ? " (write)" : "",
				 e->start, e->end);
	}
}

/*
 * What a wrong unit holds, when the read covers its header: the file,
 * offset and generation it was written as.
 */
void describe_bytes(char *out, size_t len, const unsigned char *unit_start, int have_header,
		    int file, uint32_t unit)
{
	struct unit_header h;

	if (have_header) {
		memcpy(&h, unit_start, sizeof(h));
		if (h.magic == MAGIC && h.seed == seed) {
			snprintf(out, len, "the unit read is file %u offset %u gen %" PRIu64 "%s",
				 h.file, h.unit * UNIT, h.gen,
				 h.file != (uint32_t)file ? " (ANOTHER FILE)" :
				 h.unit != unit ? " (ANOTHER OFFSET)" : "");
			return;
		}
		snprintf(out, len, "the unit read has no valid header");
		return;
	}
	snprintf(out, len, "the read did not cover the unit's header");
}

/* The last few events of a unit, newest first, for a failure message. */
void unit_history(const struct unit_model *u, char *out, size_t len)
{
	size_t used = 0;
	uint64_t k;

	out[0] = 0;
	for (k = u->n; k > 0 && u->n - k < 6 && used < len - 80; k--) {
		const struct unit_event *e = &u->hist[(k - 1) % HIST];

		used += snprintf(out + used, len - used, "%s%c: gen %" PRIu64 " valid %u [%" PRIu64 "-%" PRIu64 "]",
				 used ? ", " : "", e->op, e->after.gen, e->after.valid, e->start, e->end);
	}
}

/*
 * Judge bytes [from, to) of unit `unit` of file f (got points at byte
 * `from`) against the candidate states.  Byte by byte: each byte must be
 * what one of the candidates has there.
 */
static int judge_unit(struct file_model *f, uint32_t unit, const unsigned char *got,
		      uint32_t from, uint32_t to, const struct unit_state *cand, int n_cand,
		      const char *how, uint64_t rs, uint64_t re, unsigned char (*content)[UNIT])
{
	int c, whole = -1;
	uint32_t p;

	for (c = 0; c < n_cand; c++) {
		if (cand[c].gen)
			unit_content(content[c], f->id, unit, cand[c].gen);
		else
			memset(content[c], 0, UNIT);
		if (cand[c].valid < UNIT)
			memset(content[c] + cand[c].valid, 0, UNIT - cand[c].valid);
		if (whole < 0 && !memcmp(content[c] + from, got, to - from))
			whole = c;
	}
	if (whole >= 0)
		return 0;
	for (p = from; p < to; p++) {
		int ok = 0;

		if (got[p - from] == 0)
			continue;	/* zero is in content only where a candidate has it */
		for (c = 0; c < n_cand && !ok; c++)
			ok = content[c][p] == got[p - from];
		if (!ok) {
			char what[160], allowed[400], hist[600];
			size_t used = 0;

			/* a zero byte also needs a candidate with zero there */
			describe_bytes(what, sizeof(what), got, from == 0 && to >= 32, f->id, unit);
			for (c = 0; c < n_cand && used < sizeof(allowed) - 40; c++)
				used += snprintf(allowed + used, sizeof(allowed) - used, "%s%s gen %" PRIu64 " valid %u",
						 c ? ", " : "", cand[c].gen ? "data" : "zeros",
						 cand[c].gen, cand[c].valid);
			unit_history(&f->units[unit], hist, sizeof(hist));
			failf("%s: file %d offset %u (unit %u byte %u): read 0x%02x, no allowed state has it; %s; allowed: %s [ticks %" PRIu64 "-%" PRIu64 "]; unit history: %s",
			      how, f->id, unit * UNIT + p, unit, p, got[p - from], what, allowed, rs, re, hist);
			return 1;
		}
	}
	/* zero bytes: each must be zero in some candidate */
	for (p = from; p < to; p++) {
		int ok = 0;

		if (got[p - from] != 0)
			continue;
		for (c = 0; c < n_cand && !ok; c++)
			ok = content[c][p] == 0;
		if (!ok) {
			char hist[600];

			unit_history(&f->units[unit], hist, sizeof(hist));
			failf("%s: file %d offset %u: read zeros where every allowed state has data (lost write?) [ticks %" PRIu64 "-%" PRIu64 "]; unit history: %s",
			      how, f->id, unit * UNIT + p, rs, re, hist);
			return 1;
		}
	}
	return 0;
}

/* Judge a read of file f: `got` bytes at off of a request for len, made in [rs, re]. */
void judge_read(struct file_model *f, const unsigned char *buf, uint64_t off,
		uint64_t len, uint64_t got, uint64_t rs, uint64_t re, const char *how,
		unsigned char (*content)[UNIT])
{
	struct unit_state cand[MAX_CAND];
	uint64_t pos = off;

	pthread_mutex_lock(&f->hist_lock);
	if (!size_allows(f, rs, re, off, len, got, 1)) {
		char sizes[600];

		size_history(f, sizes, sizeof(sizes));
		failf("%s: file %d: read of %" PRIu64 " at %" PRIu64 " returned %" PRIu64 " bytes [ticks %" PRIu64 "-%" PRIu64 "]: no size the file had during the read allows that; recent sizes: %s",
		      how, f->id, len, off, got, rs, re, sizes);
	}
	while (pos < off + got && !atomic_load(&stop_now)) {
		uint32_t unit = (uint32_t)(pos / UNIT);
		uint32_t from = (uint32_t)(pos % UNIT);
		uint32_t to = UNIT;
		int n;

		if ((uint64_t)unit * UNIT + to > off + got)
			to = (uint32_t)(off + got - (uint64_t)unit * UNIT);
		if (unit >= (uint32_t)max_units) {
			failf("%s: file %d: read returned data at %" PRIu64 ", beyond any size it ever had", how, f->id, pos);
			break;
		}
		n = unit_candidates(&f->units[unit], rs, re, cand);
		if (n > 0 && judge_unit(f, unit, buf + (pos - off), from, to, cand, n, how, rs, re, content))
			break;
		pos = (uint64_t)unit * UNIT + to;
	}
	pthread_mutex_unlock(&f->hist_lock);
}

/* The ids a name may hold during [rs, re]; -1 for "absent". */
int name_allows(int s, uint64_t rs, uint64_t re, int id)
{
	const struct slot_model *sm = &slots[s];
	uint64_t k;
	int init = s < n_files ? s : -1;

	for (k = sm->n; k > 0; k--) {
		const struct name_event *e;

		if (sm->n - k >= HIST)
			return 1;
		e = &sm->hist[(k - 1) % HIST];
		if (e->start > re)
			continue;
		if (e->after == id)
			return 1;
		if (e->end && e->end < rs)
			return 0;
	}
	return init == id;
}

/* "file N" or "nothing", for messages about names (buf: 24 bytes). */
const char *describe_id(int id, char *buf)
{
	if (id < 0)
		return "nothing";
	snprintf(buf, 24, "file %d", id);
	return buf;
}
