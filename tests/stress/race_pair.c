/*
 * race_pair.c: cstress's one unordered mutation on purpose: a write and a
 * truncate or punch of the same file at once, judged by their outcome.
 */
#include "cstress.h"

/*
 * A write and a truncate or punch of the same file at once (a thread each),
 * nothing else mutating that file.  Either order is legal, so the file must
 * end up exactly as "write, then the other" or as "the other, then write":
 * which one is found by reading the file back (O_DIRECT when there is one),
 * and the model follows it.  Racing readers may meanwhile see the old state,
 * either op alone, or either outcome.  The kernel serialises write() and
 * truncate of one inode on a write-through mount; with the writeback cache
 * it is the writeback of that data that meets the truncate in the daemon,
 * and a size neither order gives, or data written into blocks the truncate
 * freed, fails here.
 */
struct pair_write {
	struct worker *w;
	struct file_model *f;
	uint32_t u0, n;
	ssize_t got;
	int err;
};

static void *pair_write_main(void *arg)
{
	struct pair_write *pw = arg;

	if (!racing_fadvise)
		pthread_rwlock_rdlock(&pw->f->buffered_lock);
	pw->got = pwrite(pw->w->fd[pw->f->id], pw->w->buf, (size_t)pw->n * UNIT, (off_t)pw->u0 * UNIT);
	pw->err = errno;
	if (!racing_fadvise)
		pthread_rwlock_unlock(&pw->f->buffered_lock);
	return NULL;
}

struct file_image {
	struct unit_state u[MAX_UNITS];
	uint64_t size;
};

static void image_write(struct file_image *im, uint32_t u0, uint32_t n, uint64_t gen)
{
	uint32_t u;

	for (u = u0; u < u0 + n; u++)
		im->u[u] = (struct unit_state){ gen, UNIT };
	if ((uint64_t)(u0 + n) * UNIT > im->size)
		im->size = (uint64_t)(u0 + n) * UNIT;
}

static void image_truncate(struct file_image *im, uint64_t size)
{
	uint32_t u;

	for (u = (uint32_t)((size + UNIT - 1) / UNIT); u < (uint32_t)max_units; u++)
		im->u[u] = (struct unit_state){ 0, 0 };
	if (size % UNIT && im->u[size / UNIT].gen && im->u[size / UNIT].valid > size % UNIT)
		im->u[size / UNIT].valid = (uint32_t)(size % UNIT);
	im->size = size;
}

static void image_punch(struct file_image *im, uint32_t p0, uint32_t pn)
{
	uint32_t u;

	for (u = p0; u < p0 + pn; u++)
		im->u[u] = (struct unit_state){ 0, 0 };
}

static int same_unit(struct unit_state a, struct unit_state b)
{
	return a.gen == b.gen && (a.gen == 0 || a.valid == b.valid);
}

/* Whether the bytes read (got of them) are the image im, unit by unit. */
static int image_matches(const struct file_image *im, int file, const unsigned char *buf,
			 uint64_t got, unsigned char *want, uint64_t *where)
{
	uint32_t u;

	*where = got < im->size ? got : im->size;
	if (got != im->size)
		return 0;
	for (u = 0; (uint64_t)u * UNIT < got; u++) {
		uint32_t len = got - (uint64_t)u * UNIT < UNIT ? (uint32_t)(got - (uint64_t)u * UNIT) : UNIT;

		if (im->u[u].gen)
			unit_content(want, file, u, im->u[u].gen);
		else
			memset(want, 0, UNIT);
		if (im->u[u].valid < UNIT)
			memset(want + im->u[u].valid, 0, UNIT - im->u[u].valid);
		if (memcmp(want, buf + (size_t)u * UNIT, len)) {
			*where = (uint64_t)u * UNIT;
			return 0;
		}
	}
	return 1;
}

atomic_uint_fast64_t pairs_write_first, pairs_other_first;
atomic_int pair_inject;	/* -i pair-size */

void op_race_pair(struct worker *w, struct file_model *f)
{
	unsigned char *back, *want;
	struct pair_write pw = { .w = w, .f = f };
	int punch = below(&w->rng, 3) == 0 && !strchr(skip_ops, 'p'), fd, chose_a = 0, err = 0, r;
	uint64_t size = below(&w->rng, (uint64_t)max_units * UNIT + 1), gen, start, end, where_a, where_b;
	uint32_t p0 = 0, pn = 0, u;
	struct file_image *old, *only_w, *only_x, *a, *b;
	struct unit_event *last[MAX_UNITS] = { 0 }, *ev[MAX_UNITS * 4];
	struct size_event *size_last = NULL, *sev[4];
	int n_ev = 0, n_sev = 0;
	pthread_t helper;
	ssize_t got;

	if (posix_memalign((void **)&back, UNIT, (size_t)(max_units + 1) * UNIT) ||
	    !(want = malloc(UNIT)))
		die("out of memory");
	old = calloc(5, sizeof(*old));
	if (!old)
		die("out of memory");
	only_w = old + 1, only_x = old + 2, a = old + 3, b = old + 4;
	pw.n = 1 + (uint32_t)below(&w->rng, MAX_IO_UNITS);
	pw.u0 = (uint32_t)below(&w->rng, (uint64_t)max_units - pw.n + 1);
	if (punch) {
		pn = 1 + (uint32_t)below(&w->rng, MAX_IO_UNITS);
		p0 = (uint32_t)below(&w->rng, (uint64_t)max_units - pn + 1);
	} else if (below(&w->rng, 2)) {
		size -= size % UNIT;
	}
	gen = atomic_fetch_add(&next_gen, 1);
	for (u = 0; u < pw.n; u++)
		unit_content(w->buf + (size_t)u * UNIT, f->id, pw.u0 + u, gen);

	size_lock(f, 1);
	for (u = 0; u < (uint32_t)max_units; u++)
		old->u[u] = f->units[u].cur;
	old->size = f->size;
	*only_w = *old;
	image_write(only_w, pw.u0, pw.n, gen);
	*only_x = *old;
	if (punch)
		image_punch(only_x, p0, pn);
	else
		image_truncate(only_x, size);
	*a = *only_w;		/* write, then the other */
	if (punch)
		image_punch(a, p0, pn);
	else
		image_truncate(a, size);
	*b = *only_x;		/* the other, then write */
	image_write(b, pw.u0, pw.n, gen);

	pthread_mutex_lock(&f->hist_lock);
	start = tick();
	for (u = 0; u < (uint32_t)max_units; u++) {
		const struct file_image *states[4] = { only_w, only_x, a, b };
		int k;

		if (same_unit(old->u[u], only_w->u[u]) && same_unit(old->u[u], only_x->u[u]) &&
		    same_unit(old->u[u], a->u[u]) && same_unit(old->u[u], b->u[u]))
			continue;
		for (k = 0; k < 4; k++)	/* the last one is replaced by the outcome */
			ev[n_ev++] = last[u] = unit_begin(&f->units[u], start, states[k]->u[u], 'r');
	}
	{
		const struct file_image *states[4] = { only_w, only_x, a, b };
		int k;

		for (k = 0; k < 4; k++) {
			f->size = old->size;	/* each event's "before" is the old size */
			sev[n_sev++] = size_last = size_begin(f, start, states[k]->size, 1);
		}
	}
	pthread_mutex_unlock(&f->hist_lock);

	if (pthread_create(&helper, NULL, pair_write_main, &pw))
		die("pthread_create failed");
	if (punch)
		r = fallocate(w->fd[f->id], FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			      (off_t)p0 * UNIT, (off_t)pn * UNIT);
	else
		r = ftruncate(w->fd[f->id], (off_t)size);
	if (r < 0)
		err = errno;
	pthread_join(helper, NULL);

	if (pair_inject && atomic_exchange(&pair_inject, 0)) {	/* self-test */
		if (ftruncate(w->fd[f->id], (off_t)(a->size > b->size ? a->size : b->size) + 1) < 0)
			die("inject: %s", strerror(errno));
		fprintf(stderr, "cstress: injected: after a racing pair, file %d one byte longer than either order\n", f->id);
	}
	/* Which order happened? */
	fd = use_direct ? w->dfd[f->id] : w->fd[f->id];
	got = pread(fd, back, (size_t)(max_units + 1) * UNIT, 0);
	if (err || pw.got != (ssize_t)pw.n * UNIT)
		got = 0;	/* a failed op: reported below, nothing to judge */
	else
		chose_a = got >= 0 && image_matches(a, f->id, back, (uint64_t)got, want, &where_a);
	if (!chose_a && got > 0 && !image_matches(b, f->id, back, (uint64_t)got, want, &where_b)) {
		failf("file %d after a write of units %u-%u racing %s %" PRIu64 ": the file (%zd bytes) is in neither order: write first gives %" PRIu64 " bytes (first difference at %" PRIu64 "), %s first gives %" PRIu64 " (first difference at %" PRIu64 ")",
		      f->id, pw.u0, pw.u0 + pw.n - 1, punch ? "a punch at" : "a truncate to",
		      punch ? (uint64_t)p0 * UNIT : size, got, a->size, where_a,
		      punch ? "punch" : "truncate", b->size, where_b);
	}
	pthread_mutex_lock(&f->hist_lock);
	end = tick();
	for (r = 0; r < n_ev; r++)
		ev[r]->end = end;
	for (r = 0; r < n_sev; r++)
		sev[r]->end = end;
	for (u = 0; u < (uint32_t)max_units; u++)
		if (last[u]) {
			last[u]->after = (chose_a ? a : b)->u[u];
			f->units[u].cur = last[u]->after;
		}
	atomic_fetch_add(chose_a ? &pairs_write_first : &pairs_other_first, 1);
	size_last->after = (chose_a ? a : b)->size;
	f->size = size_last->after;
	pthread_mutex_unlock(&f->hist_lock);
	size_unlock(f);
	if (pw.got != (ssize_t)pw.n * UNIT)
		syscall_failed("pwrite racing a truncate", f->id, pw.got < 0 ? pw.err : EIO);
	if (err)
		syscall_failed(punch ? "fallocate PUNCH_HOLE racing a write" : "ftruncate racing a write", f->id, err);
	if (got < 0)
		syscall_failed("read back after a racing write", f->id, errno);
	free(old);
	free(back);
	free(want);
}
