/*
 * model.c: the expected content of each test file, kept beside the kernel
 * model; reads are compared byte for byte, REPORT results against both the
 * model and the device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

void fill_pattern(uint8_t *p, size_t len, uint64_t pos, uint32_t seed)
{
	/* position-dependent, so misplaced blocks show; never all zero */
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (pos + i) * 2654435761u + seed * 40503u;
		p[i] = (uint8_t)((x >> 13) ^ (x >> 5) ^ seed) | 1;
	}
}

static void grow(struct vfile *f, uint64_t size)
{
	if (size > f->cap) {
		uint64_t cap = f->cap ? f->cap : 65536;
		while (cap < size)
			cap *= 2;
		f->data = realloc(f->data, cap);
		if (!f->data)
			fail("out of memory (model of %s, %llu bytes)", f->name, (unsigned long long)cap);
		memset(f->data + f->cap, 0, cap - f->cap);
		f->cap = cap;
	}
}

static void set_size(struct vfile *f, uint64_t size)
{
	grow(f, size);
	if (size < f->size)
		memset(f->data + size, 0, f->size - size);
	f->size = size;
}

void vf_open(struct kernel *k, struct vfile *f, const char *name)
{
	int err;

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->ip = k_lookup(k, FUSE_ROOT_ID, name, &err);
	if (f->ip)
		fail("%s exists already", name);
	if (err && err != -ENOENT)	/* 0: a negative entry */
		fail("LOOKUP %s: %s, expected ENOENT", name, strerror(-err));
	f->ip = k_create(k, FUSE_ROOT_ID, name, 0644);
	if (f->ip->size)
		fail("CREATE %s: size %llu", name, (unsigned long long)f->ip->size);
}

void vf_close(struct vfile *f)
{
	if (O.dump_dir) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s.expected", O.dump_dir, f->name);
		vf_dump(f, p);
	}
	free(f->data);
	f->data = NULL;
}

void vf_write(struct kernel *k, struct vfile *f, uint64_t pos, size_t len, uint32_t seed,
	      int direct)
{
	uint8_t *buf = xalloc_aligned(len);

	fill_pattern(buf, len, pos, seed);
	if (direct)
		vfs_write_direct(k, f->ip, pos, buf, len);
	else
		vfs_write(k, f->ip, pos, buf, len);
	if (pos + len > f->size)
		set_size(f, pos + len);
	memcpy(f->data + pos, buf, len);
	free(buf);
	if (f->ip->size != f->size)
		fail("%s: after write [%llu,+%zu) in-core i_size %llu, expected %llu", f->name,
		     (unsigned long long)pos, len, (unsigned long long)f->ip->size,
		     (unsigned long long)f->size);
}

void vf_truncate(struct kernel *k, struct vfile *f, uint64_t size)
{
	vfs_truncate(k, f->ip, size);
	set_size(f, size);
	if (f->ip->size != f->size)
		fail("%s: after truncate to %llu, i_size %llu", f->name, (unsigned long long)size,
		     (unsigned long long)f->ip->size);
}

int vf_fallocate(struct kernel *k, struct vfile *f, int mode, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, zend;
	int err = vfs_fallocate(k, f->ip, mode, off, len);

	if (err)
		return err;
	if (mode & (FL_PUNCH_HOLE | FL_ZERO_RANGE)) {
		zend = end < f->size ? end : f->size;
		if (off < zend)
			memset(f->data + off, 0, zend - off);
	}
	if (!(mode & FL_KEEP_SIZE) && end > f->size)
		set_size(f, end);
	if (f->ip->size != f->size)
		fail("%s: after fallocate mode 0x%x [%llu,+%llu), i_size %llu, expected %llu", f->name,
		     mode, (unsigned long long)off, (unsigned long long)len,
		     (unsigned long long)f->ip->size, (unsigned long long)f->size);
	return 0;
}

static void compare(const struct vfile *f, const char *how, uint64_t pos, const uint8_t *got,
		    size_t n)
{
	const uint8_t *want = f->data + pos;

	if (!memcmp(got, want, n))
		return;
	for (size_t i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			size_t j = i;
			while (j < n && got[j] != want[j])
				j++;
			fail("%s: %s at %llu: byte 0x%02x, expected 0x%02x (%zu bytes differ from there; file size %llu, block size %u)",
			     f->name, how, (unsigned long long)(pos + i), got[i], want[i], j - i,
			     (unsigned long long)f->size, ibs(f->ip));
		}
	}
}

void vf_check(struct kernel *k, struct vfile *f, uint64_t pos, size_t len, int direct)
{
	uint8_t *buf = xalloc_aligned(len);
	size_t want = pos >= f->size ? 0 : (f->size - pos < len ? f->size - pos : len), got;
	char how[96];

	got = direct ? vfs_read_direct(k, f->ip, pos, buf, len) : vfs_read(k, f->ip, pos, buf, len);
	snprintf(how, sizeof(how), "%sread [%llu,+%zu)", direct ? "direct " : "",
		 (unsigned long long)pos, len);
	if (got != want)
		fail("%s: %s returned %zu bytes, expected %zu", f->name, how, got, want);
	compare(f, how, pos, buf, got);
	free(buf);
}

void vf_check_all(struct kernel *k, struct vfile *f)
{
	uint64_t pos = 0, chunk = 4u << 20;

	while (pos < f->size) {
		vf_check(k, f, pos, (size_t)(f->size - pos < chunk ? f->size - pos : chunk), 0);
		pos += chunk;
	}
}

struct rep_ctx {
	struct kernel *k;
	struct vfile *f;
	uint64_t next;
	unsigned long extents;
	int skip_dirty;		/* blocks still in the pagecache are not on disk yet */
};

static void rep_cb(void *ctx, const struct kmap *m)
{
	struct rep_ctx *r = ctx;
	struct vfile *f = r->f;
	uint64_t s = m->offset, e = m->offset + m->length;
	char how[128];

	if (s != r->next)
		fail("%s: REPORT walk: mapping starts at %llu, previous ended at %llu", f->name,
		     (unsigned long long)s, (unsigned long long)r->next);
	r->next = e;
	if (e > f->size)
		e = f->size;
	if (s >= e)
		return;
	snprintf(how, sizeof(how), "REPORT %s [%llu,+%llu)", typename(m->type),
		 (unsigned long long)m->offset, (unsigned long long)m->length);
	if (r->skip_dirty) {
		/* check block by block, leaving out the dirty ones */
		uint64_t bs = ibs(f->ip);
		for (uint64_t b = s / bs; b * bs < e; b++) {
			struct kmap one = *m;
			uint64_t bs0 = b * bs > s ? b * bs : s, be = (b + 1) * bs < e ? (b + 1) * bs : e;
			if (vfs_block_dirty(f->ip, b))
				continue;
			one.offset = bs0 / bs * bs;
			one.length = bs;
			if (one.addr != W_NULL_ADDR)
				one.addr = m->addr + (one.offset - m->offset);
			if (one.offset < m->offset)
				continue;	/* partial first block of an unaligned walk */
			r->next = one.offset;
			r->skip_dirty = 0;
			rep_cb(r, &one);
			r->skip_dirty = 1;
			(void)be;
		}
		r->next = m->offset + m->length;
		return;
	}
	switch (m->type) {
	case W_TYPE_HOLE:
	case W_TYPE_UNWRITTEN: {
		for (uint64_t i = s; i < e; i++)
			if (f->data[i])
				fail("%s: %s but byte %llu is 0x%02x, not zero", f->name, how,
				     (unsigned long long)i, f->data[i]);
		break;
	}
	case W_TYPE_MAPPED: {
		/* the blocks on the device hold the file's bytes */
		uint64_t bs = ibs(f->ip), as = s / bs * bs, ae = (e + bs - 1) / bs * bs;
		uint8_t *buf = xalloc_aligned(ae - as);
		dev_io(r->k, m, as, buf, ae - as, 0);
		compare(f, how, s, buf + (s - as), e - s);
		free(buf);
		r->extents++;
		break;
	}
	case W_TYPE_INLINE:
		r->extents++;
		break;
	default:
		fail("%s: %s: type not expected after writeback", f->name, how);
	}
}

/* The same without writeback: only blocks not dirty in the pagecache. */
void vf_check_disk(struct kernel *k, struct vfile *f)
{
	struct rep_ctx r = { k, f, 0, 0, 1 };
	uint64_t bs = ibs(f->ip);

	if (!f->ip->fileio)
		return;
	vfs_report(k, f->ip, 0, (f->size + bs - 1) / bs * bs, rep_cb, &r);
}

void vf_check_report(struct kernel *k, struct vfile *f)
{
	struct rep_ctx r = { k, f, 0, 0, 0 };
	uint64_t bs = ibs(f->ip);

	if (!f->ip->fileio)
		return;
	vfs_writeback(k, f->ip);
	vfs_report(k, f->ip, 0, (f->size + bs - 1) / bs * bs, rep_cb, &r);
}

void vf_check_seek(struct kernel *k, struct vfile *f, uint64_t off)
{
	int64_t d, h;

	if (!f->ip->fileio)
		return;
	d = vfs_seek(k, f->ip, off, 0);
	h = vfs_seek(k, f->ip, off, 1);
	if (off >= f->size) {
		if (d != -ENXIO || h != -ENXIO)
			fail("%s: SEEK_DATA/HOLE at %llu >= size: %lld/%lld, expected ENXIO", f->name,
			     (unsigned long long)off, (long long)d, (long long)h);
		return;
	}
	/* [off, data) must read as zeros; a hole start must read as zeros */
	for (uint64_t i = off; i < (d < 0 ? f->size : (uint64_t)d); i++)
		if (f->data[i])
			fail("%s: SEEK_DATA(%llu) = %lld, but byte %llu is nonzero", f->name,
			     (unsigned long long)off, (long long)d, (unsigned long long)i);
	if (h < (int64_t)off || h > (int64_t)f->size)
		fail("%s: SEEK_HOLE(%llu) = %lld, size %llu", f->name, (unsigned long long)off,
		     (long long)h, (unsigned long long)f->size);
	/* holes are whole blocks: the rest of h's block reads as zeros */
	for (uint64_t i = (uint64_t)h; i < f->size && i < ((uint64_t)h / ibs(f->ip) + 1) * ibs(f->ip); i++)
		if (f->data[i])
			fail("%s: SEEK_HOLE(%llu) = %lld, but byte %llu is nonzero", f->name,
			     (unsigned long long)off, (long long)h, (unsigned long long)i);
}

void vf_check_size(struct kernel *k, struct vfile *f)
{
	struct fuse_attr a;

	k_getattr(k, f->ip, &a);
	if (a.size != f->size)
		fail("%s: GETATTR size %llu, expected %llu (in-core %llu)", f->name,
		     (unsigned long long)a.size, (unsigned long long)f->size,
		     (unsigned long long)f->ip->size);
}

void vf_dump(const struct vfile *f, const char *path)
{
	FILE *o = fopen(path, "w");

	if (!o || (f->size && fwrite(f->data, 1, f->size, o) != f->size) || fclose(o))
		fail("writing %s: %s", path, strerror(errno));
}
