/*
 * cache.c: the kernel mapping cache model (spec 2.10).  Forks are sorted
 * vectors of non-overlapping mappings; an upsert removes the overlapping
 * range and inserts; a removal splits mappings at its edges, moving the
 * disk address of a right-hand piece along with its file offset.
 */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "wire.h"

static void grow(struct fork *f, size_t need)
{
	size_t cap;
	struct kmap *v;

	if (need <= f->cap)
		return;
	cap = f->cap ? f->cap * 2 : 16;
	while (cap < need)
		cap *= 2;
	v = realloc(f->v, cap * sizeof(*v));
	if (!v)
		fail("out of memory (mapping cache)");
	f->v = v;
	f->cap = cap;
}

static void insert_at(struct fork *f, size_t i, const struct kmap *m)
{
	grow(f, f->n + 1);
	memmove(f->v + i + 1, f->v + i, (f->n - i) * sizeof(*m));
	f->v[i] = *m;
	f->n++;
}

static void erase_at(struct fork *f, size_t i)
{
	memmove(f->v + i, f->v + i + 1, (f->n - i - 1) * sizeof(*f->v));
	f->n--;
}

/* The piece of m starting at file offset 'from' (from inside m). */
static struct kmap tail_of(const struct kmap *m, uint64_t from)
{
	struct kmap t = *m;
	uint64_t d = from - m->offset;

	t.offset = from;
	t.length = m->length - d;
	if (t.addr != W_NULL_ADDR)
		t.addr += d;
	return t;
}

void fork_remove(struct fork *f, uint64_t off, uint64_t len)
{
	uint64_t end = (len == UINT64_MAX || off + len < off) ? UINT64_MAX : off + len;
	size_t i = 0;

	while (i < f->n) {
		struct kmap *m = &f->v[i];
		uint64_t mend = m->offset + m->length;

		if (mend <= off || m->offset >= end) {
			i++;
			continue;
		}
		if (m->offset < off && mend > end) {
			/* split in two */
			struct kmap right = tail_of(m, end);
			m->length = off - m->offset;
			insert_at(f, i + 1, &right);
			return;
		}
		if (m->offset < off) {
			m->length = off - m->offset;
			i++;
			continue;
		}
		if (mend > end) {
			*m = tail_of(m, end);
			i++;
			continue;
		}
		erase_at(f, i);
	}
}

void fork_upsert(struct fork *f, const struct kmap *m)
{
	size_t i;

	fork_remove(f, m->offset, m->length);
	for (i = 0; i < f->n && f->v[i].offset < m->offset; i++)
		;
	insert_at(f, i, m);
}

const struct kmap *fork_find(const struct fork *f, uint64_t pos)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct kmap *m = &f->v[mid];
		if (pos < m->offset)
			hi = mid;
		else if (pos >= m->offset + m->length)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

void mcache_inval(struct mcache *mc, uint64_t off, uint64_t len)
{
	fork_remove(&mc->rd, off, len);
	if (mc->has_wr)
		fork_remove(&mc->wr, off, len);
	mc->seq++;
}

void mcache_free(struct mcache *mc)
{
	free(mc->rd.v);
	free(mc->wr.v);
	memset(mc, 0, sizeof(*mc));
}
