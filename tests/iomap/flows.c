/*
 * flows.c: the kernel's request flows for an iomap inode (spec 2.11).
 *
 * The pagecache is modelled at fs-block granularity and holds only dirty
 * blocks: clean data is never kept, so every read of a clean block goes
 * through IOMAP_BEGIN (or the mapping cache) and the block device, which is
 * what we want to test.  This is the kernel with its pagecache evicted
 * after every writeback; the upcall sequences are the kernel's for that
 * state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flows.h"

unsigned long long g_inline_rbytes, g_inline_wbytes;

void *xalloc_aligned(size_t len)
{
	void *p;

	if (posix_memalign(&p, PAGE, len ? len : 1))
		fail("out of memory (%zu bytes)", len);
	return p;
}

/* ------------------------------------------------------------ pagecache */

static size_t pc_index(const struct kinode *ip, uint64_t blk)
{
	size_t lo = 0, hi = ip->ndirty;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ip->dirty[mid].blk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint8_t *pc_find(const struct kinode *ip, uint64_t blk)
{
	size_t i = pc_index(ip, blk);

	return i < ip->ndirty && ip->dirty[i].blk == blk ? ip->dirty[i].buf : NULL;
}

static uint8_t *pc_add(struct kinode *ip, uint64_t blk)
{
	size_t i = pc_index(ip, blk);

	if (ip->ndirty == ip->capdirty) {
		ip->capdirty = ip->capdirty ? ip->capdirty * 2 : 64;
		ip->dirty = realloc(ip->dirty, ip->capdirty * sizeof(*ip->dirty));
		if (!ip->dirty)
			fail("out of memory");
	}
	memmove(ip->dirty + i + 1, ip->dirty + i, (ip->ndirty - i) * sizeof(*ip->dirty));
	ip->dirty[i].blk = blk;
	ip->dirty[i].buf = xalloc_aligned(ibs(ip));
	memset(ip->dirty[i].buf, 0, ibs(ip));
	ip->ndirty++;
	return ip->dirty[i].buf;
}

/* Drop dirty blocks [b0, b1) (truncate_pagecache). */
static void pc_drop(struct kinode *ip, uint64_t b0, uint64_t b1)
{
	size_t i = pc_index(ip, b0), j = i;

	while (j < ip->ndirty && ip->dirty[j].blk < b1)
		free(ip->dirty[j++].buf);
	memmove(ip->dirty + i, ip->dirty + j, (ip->ndirty - j) * sizeof(*ip->dirty));
	ip->ndirty -= j - i;
}

int vfs_block_dirty(const struct kinode *ip, uint64_t blk)
{
	return pc_find(ip, blk) != NULL;
}

size_t vfs_ndirty(const struct kinode *ip)
{
	return ip->ndirty;
}

static const struct kmap *source(const struct kmap *im, const struct kmap *sm)
{
	return sm->length && sm->type != W_TYPE_HOLE ? sm : im;
}

/* iomap_block_needs_zeroing */
static int needs_zeroing(const struct kinode *ip, const struct kmap *src, uint64_t bstart)
{
	return src->type != W_TYPE_MAPPED || (src->flags & W_F_NEW) || bstart >= ip->size;
}

static void fill_block(struct kernel *k, struct kinode *ip, const struct kmap *src,
		       uint64_t bstart, uint8_t *buf)
{
	if (needs_zeroing(ip, src, bstart))
		memset(buf, 0, ibs(ip));
	else
		dev_io(k, src, bstart, buf, ibs(ip), 0);
}

static void need(struct kernel *k, struct kinode *ip, int err, const char *what, uint32_t op,
		 uint64_t pos, uint64_t len)
{
	if (err)
		fail("%s node %llu: BEGIN op 0x%x pos %llu count %llu: %s", what,
		     (unsigned long long)ip->nodeid, op, (unsigned long long)pos,
		     (unsigned long long)len, strerror(-err));
}

/* An inline mapping: FUSE_WRITE of [pos, +n) with fh 0 (spec 2.9). */
static void inline_write(struct kernel *k, struct kinode *ip, uint64_t pos, const void *buf,
			 size_t n)
{
	struct fuse_write_in in;
	struct fuse_write_out out;
	int err;

	memset(&in, 0, sizeof(in));
	in.fh = 0;
	in.offset = pos;
	in.size = (uint32_t)n;
	err = conn_call_exact(&k->c, FUSE_WRITE, ip->nodeid, &in, sizeof(in), buf, n, &out,
			      sizeof(out));
	if (err)
		fail("inline FUSE_WRITE node %llu pos %llu len %zu: %s",
		     (unsigned long long)ip->nodeid, (unsigned long long)pos, n, strerror(-err));
	g_inline_wbytes += out.size;
	if (out.size < n)
		fail("inline FUSE_WRITE node %llu pos %llu: wrote %u of %zu (kernel: EIO)",
		     (unsigned long long)ip->nodeid, (unsigned long long)pos, out.size, n);
}

/* An inline mapping: FUSE_READ(pos, count) with fh 0 into the mapping's buffer. */
static void inline_read(struct kernel *k, struct kinode *ip, const struct kmap *m, uint64_t pos,
			uint64_t count, uint8_t *dst, size_t n)
{
	struct fuse_read_in in;
	uint64_t room = m->offset + m->length - pos;
	uint8_t *tmp;
	size_t got;
	int err;

	memset(&in, 0, sizeof(in));
	in.fh = 0;
	in.offset = pos;
	in.size = (uint32_t)(count > (1u << 20) ? (1u << 20) : count);
	tmp = malloc(in.size);
	if (!tmp)
		fail("out of memory");
	err = conn_call(&k->c, FUSE_READ, ip->nodeid, &in, sizeof(in), NULL, 0, tmp, in.size, &got);
	if (err)
		fail("inline FUSE_READ node %llu pos %llu: %s", (unsigned long long)ip->nodeid,
		     (unsigned long long)pos, strerror(-err));
	g_inline_rbytes += got;
	if (!got)
		fail("inline FUSE_READ node %llu pos %llu: 0 bytes (kernel: EIO)",
		     (unsigned long long)ip->nodeid, (unsigned long long)pos);
	if (got > room)
		fail("inline FUSE_READ node %llu pos %llu: %zu bytes, more than the INLINE mapping's %llu",
		     (unsigned long long)ip->nodeid, (unsigned long long)pos, got,
		     (unsigned long long)room);
	memset(dst, 0, n);
	memcpy(dst, tmp, got < n ? got : n);
	free(tmp);
}

static void inval_blocks(struct kinode *ip, uint64_t pos, uint64_t len)
{
	uint64_t bs = ibs(ip), s = pos / bs * bs, e = (pos + len + bs - 1) / bs * bs;

	mcache_inval(&ip->mc, s, e - s);
}

/* ------------------------------------------------------------ zeroing */

/* iomap_zero_range over [pos, pos+len): BEGIN(ZERO) per mapping. */
static void zero_range(struct kernel *k, struct kinode *ip, uint64_t pos, uint64_t len)
{
	uint64_t bs = ibs(ip);

	while (len) {
		struct kmap im, sm;
		const struct kmap *src;
		uint64_t n, p;
		int err;

		err = k_begin(k, ip, W_OP_ZERO, pos, len, &im, &sm);
		need(k, ip, err, "zero", W_OP_ZERO, pos, len);
		n = im.offset + im.length - pos;
		if (n > len)
			n = len;
		src = source(&im, &sm);
		if (im.type == W_TYPE_INLINE) {
			uint8_t *z = calloc(1, n);
			if (!z)
				fail("out of memory");
			inline_write(k, ip, pos, z, n);
			free(z);
			inval_blocks(ip, pos, n);
		} else {
			for (p = pos; p < pos + n;) {
				uint64_t blk = p / bs, bstart = blk * bs;
				uint64_t e = bstart + bs < pos + n ? bstart + bs : pos + n;
				uint8_t *b = pc_find(ip, blk);
				if (!b) {
					/* holes and unwritten extents stay as they are */
					if (src->type == W_TYPE_HOLE || src->type == W_TYPE_UNWRITTEN) {
						p = e;
						continue;
					}
					b = pc_add(ip, blk);
					if (p != bstart || e != bstart + bs)
						fill_block(k, ip, src, bstart, b);
				}
				memset(b + (p - bstart), 0, e - p);
				p = e;
			}
		}
		if (im.flags & W_F_WANT_IOMAP_END) {
			err = k_end(k, ip, W_OP_ZERO, pos, n, (int64_t)n, &im);
			if (err)
				fail("END(ZERO) node %llu pos %llu: %s", (unsigned long long)ip->nodeid,
				     (unsigned long long)pos, strerror(-err));
		}
		pos += n;
		len -= n;
	}
}

/* ------------------------------------------------------------ writeback */

/* iomap_writepages over dirty blocks in [b0, b1). */
static void writeback_range(struct kernel *k, struct kinode *ip, uint64_t b0, uint64_t b1)
{
	uint64_t bs = ibs(ip);
	size_t i = pc_index(ip, b0);

	/* blocks wholly past EOF are not written (iomap_writepage_handle_eof) */
	{
		uint64_t eofblk = (ip->size + bs - 1) / bs;
		if (b1 > eofblk) {
			pc_drop(ip, eofblk > b0 ? eofblk : b0, b1);
			b1 = eofblk > b0 ? eofblk : b0;
		}
	}
	while (i < ip->ndirty && ip->dirty[i].blk < b1) {
		size_t j = i + 1;
		uint64_t pos, end;

		while (j < ip->ndirty && ip->dirty[j].blk < b1 &&
		       ip->dirty[j].blk == ip->dirty[j - 1].blk + 1)
			j++;
		pos = ip->dirty[i].blk * bs;
		end = (ip->dirty[j - 1].blk + 1) * bs;
		/* the block straddling EOF is zeroed past EOF before it goes out */
		if (end > ip->size) {
			uint8_t *last = ip->dirty[j - 1].buf;
			memset(last + (ip->size - (end - bs)), 0, end - ip->size);
		}
		while (pos < end) {
			struct kmap im, sm;
			uint64_t n, q;
			uint8_t *buf;
			uint16_t fl = 0;
			int err;

			err = k_begin(k, ip, W_OP_WRITE | W_OP_DIRECT, pos, end - pos, &im, &sm);
			need(k, ip, err, "writeback", W_OP_WRITE | W_OP_DIRECT, pos, end - pos);
			if (im.type != W_TYPE_MAPPED && im.type != W_TYPE_UNWRITTEN)
				fail("writeback node %llu pos %llu: BEGIN(DIRECT|WRITE) gave %s; writeback needs allocated space (data would be lost)",
				     (unsigned long long)ip->nodeid, (unsigned long long)pos,
				     typename(im.type));
			if (im.offset > pos)
				fail("writeback node %llu pos %llu: mapping starts at %llu",
				     (unsigned long long)ip->nodeid, (unsigned long long)pos,
				     (unsigned long long)im.offset);
			n = im.offset + im.length - pos;
			if (n > end - pos)
				n = end - pos;
			buf = xalloc_aligned(n);
			for (q = 0; q < n; q += bs) {
				uint8_t *b = pc_find(ip, (pos + q) / bs);
				if (!b)
					fail("internal: dirty block %llu vanished",
					     (unsigned long long)((pos + q) / bs));
				memcpy(buf + q, b, bs);
			}
			dev_io(k, &im, pos, buf, n, 1);
			free(buf);
			pc_drop(ip, pos / bs, (pos + n) / bs);
			if (im.type == W_TYPE_UNWRITTEN)
				fl |= W_IOEND_UNWRITTEN;
			if (im.flags & W_F_SHARED)
				fl |= W_IOEND_SHARED;
			/* the ioend is clamped to the in-core EOF (iomap_add_to_ioend) */
			err = k_ioend(k, ip, fl, 0, pos, pos + n > ip->size ? ip->size - pos : n);
			if (err)
				fail("writeback IOEND node %llu pos %llu len %llu flags 0x%x: %s",
				     (unsigned long long)ip->nodeid, (unsigned long long)pos,
				     (unsigned long long)n, fl, strerror(-err));
			pos += n;
		}
		i = pc_index(ip, end / bs);
	}
}

void vfs_writeback(struct kernel *k, struct kinode *ip)
{
	if (ip->fileio && ip->ndirty)
		writeback_range(k, ip, 0, UINT64_MAX / 2);
}

void vfs_fsync(struct kernel *k, struct kinode *ip)
{
	vfs_writeback(k, ip);
	k_fsync(k, ip);
}

/* ------------------------------------------------------------ classic I/O */

static void classic_write(struct kernel *k, struct kinode *ip, uint64_t pos, const void *buf,
			  size_t len)
{
	while (len) {
		struct fuse_write_in in;
		struct fuse_write_out out;
		size_t n = len > k->c.max_write ? k->c.max_write : len;
		int err;

		memset(&in, 0, sizeof(in));
		in.fh = ip->fh;
		in.offset = pos;
		in.size = (uint32_t)n;
		err = conn_call_exact(&k->c, FUSE_WRITE, ip->nodeid, &in, sizeof(in), buf, n, &out,
				      sizeof(out));
		if (err)
			fail("WRITE node %llu pos %llu len %zu: %s", (unsigned long long)ip->nodeid,
			     (unsigned long long)pos, n, strerror(-err));
		if (out.size != n)
			fail("WRITE node %llu pos %llu: %u of %zu bytes", (unsigned long long)ip->nodeid,
			     (unsigned long long)pos, out.size, n);
		pos += n;
		buf = (const char *)buf + n;
		len -= n;
		if (pos > ip->size)
			ip->size = pos;
	}
}

static size_t classic_read(struct kernel *k, struct kinode *ip, uint64_t pos, void *buf,
			   size_t len)
{
	size_t total = 0;

	while (len) {
		struct fuse_read_in in;
		size_t n = len > (1u << 20) ? (1u << 20) : len, got;
		int err;

		memset(&in, 0, sizeof(in));
		in.fh = ip->fh;
		in.offset = pos;
		in.size = (uint32_t)n;
		err = conn_call(&k->c, FUSE_READ, ip->nodeid, &in, sizeof(in), NULL, 0, buf, n, &got);
		if (err)
			fail("READ node %llu pos %llu len %zu: %s", (unsigned long long)ip->nodeid,
			     (unsigned long long)pos, n, strerror(-err));
		total += got;
		if (got < n)
			break;
		pos += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return total;
}

/* ------------------------------------------------------------ write */

void vfs_write(struct kernel *k, struct kinode *ip, uint64_t pos, const void *ubuf, size_t len)
{
	const uint8_t *buf = ubuf;
	uint64_t bs = ibs(ip);

	if (!ip->fileio) {
		classic_write(k, ip, pos, buf, len);
		return;
	}
	if (pos > ip->size)
		zero_range(k, ip, ip->size, pos - ip->size);	/* EOF gap */
	while (len) {
		struct kmap im, sm;
		const struct kmap *src;
		uint64_t n, p;
		int err;

		err = k_begin(k, ip, W_OP_WRITE, pos, len, &im, &sm);
		need(k, ip, err, "buffered write", W_OP_WRITE, pos, len);
		n = im.offset + im.length - pos;
		if (n > len)
			n = len;
		src = source(&im, &sm);
		if (im.type == W_TYPE_INLINE) {
			inline_write(k, ip, pos, buf, n);
			inval_blocks(ip, pos, n);
		} else {
			for (p = pos; p < pos + n;) {
				uint64_t blk = p / bs, bstart = blk * bs;
				uint64_t e = bstart + bs < pos + n ? bstart + bs : pos + n;
				uint8_t *b = pc_find(ip, blk);
				if (!b) {
					b = pc_add(ip, blk);
					if (p != bstart || e != bstart + bs)
						fill_block(k, ip, src, bstart, b);	/* RMW */
				}
				memcpy(b + (p - bstart), buf + (p - pos), e - p);
				p = e;
			}
		}
		if (pos + n > ip->size) {
			ip->size = pos + n;
			im.flags |= W_F_SIZE_CHANGED;
		}
		if (im.flags & (W_F_SIZE_CHANGED | W_F_WANT_IOMAP_END)) {
			err = k_end(k, ip, W_OP_WRITE, pos, n, (int64_t)n, &im);
			if (err)
				fail("END(WRITE) node %llu pos %llu written %llu flags 0x%x: %s",
				     (unsigned long long)ip->nodeid, (unsigned long long)pos,
				     (unsigned long long)n, im.flags, strerror(-err));
		}
		pos += n;
		buf += n;
		len -= n;
	}
}

void vfs_write_direct(struct kernel *k, struct kinode *ip, uint64_t pos, const void *ubuf,
		      size_t len)
{
	const uint8_t *buf = ubuf;
	uint64_t bs = ibs(ip), done = 0;
	uint16_t fl = W_IOEND_DIRECT;
	int err;

	if (!ip->directio) {
		classic_write(k, ip, pos, buf, len);
		return;
	}
	if (pos % bs || len % bs) {
		/* ENOTBLK: a synchronous buffered write instead */
		if (!ip->fileio) {
			classic_write(k, ip, pos, buf, len);
			return;
		}
		vfs_write(k, ip, pos, buf, len);
		writeback_range(k, ip, pos / bs, (pos + len + bs - 1) / bs);
		return;
	}
	/* flush and drop the pagecache over the range */
	writeback_range(k, ip, pos / bs, (pos + len) / bs);
	if (ip->fileio && pos > ip->size)
		zero_range(k, ip, ip->size, pos - ip->size);
	while (done < len) {
		struct kmap im, sm;
		uint64_t cur = pos + done, n;
		uint8_t *b;

		err = k_begin(k, ip, W_OP_WRITE | W_OP_DIRECT, cur, len - done, &im, &sm);
		need(k, ip, err, "direct write", W_OP_WRITE | W_OP_DIRECT, cur, len - done);
		n = im.offset + im.length - cur;
		if (n > len - done)
			n = len - done;
		switch (im.type) {
		case W_TYPE_MAPPED:
		case W_TYPE_UNWRITTEN:
			b = xalloc_aligned(n);
			memcpy(b, buf + done, n);
			dev_io(k, &im, cur, b, n, 1);
			free(b);
			if (im.type == W_TYPE_UNWRITTEN)
				fl |= W_IOEND_UNWRITTEN;
			if (im.flags & W_F_SHARED)
				fl |= W_IOEND_SHARED;
			break;
		case W_TYPE_INLINE:
			inline_write(k, ip, cur, buf + done, n);
			inval_blocks(ip, cur, n);
			break;
		default:
			fail("direct write node %llu pos %llu: BEGIN(WRITE|DIRECT) gave %s (iomap: EIO)",
			     (unsigned long long)ip->nodeid, (unsigned long long)cur,
			     typename(im.type));
		}
		if (im.flags & W_F_WANT_IOMAP_END) {
			err = k_end(k, ip, W_OP_WRITE | W_OP_DIRECT, cur, n, (int64_t)n, &im);
			if (err)
				fail("END(DIRECT|WRITE) node %llu pos %llu: %s",
				     (unsigned long long)ip->nodeid, (unsigned long long)cur,
				     strerror(-err));
		}
		done += n;
	}
	err = k_ioend(k, ip, fl, 0, pos, len);
	if (err)
		fail("direct write IOEND node %llu pos %llu len %zu flags 0x%x: %s",
		     (unsigned long long)ip->nodeid, (unsigned long long)pos, len, fl, strerror(-err));
	if (pos + len > ip->size)
		ip->size = pos + len;
}

/* ------------------------------------------------------------ read */

static void read_mapped(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t rpos,
			uint64_t rend, uint8_t *dst)
{
	while (rpos < rend) {
		struct kmap im, sm;
		uint64_t n;
		int err;

		err = k_begin(k, ip, op, rpos, rend - rpos, &im, &sm);
		need(k, ip, err, op ? "direct read" : "read", op, rpos, rend - rpos);
		n = im.offset + im.length - rpos;
		if (n > rend - rpos)
			n = rend - rpos;
		if (im.type == W_TYPE_INLINE) {
			inline_read(k, ip, &im, rpos, rend - rpos, dst, n);
		} else if (im.type == W_TYPE_MAPPED && !(im.flags & W_F_NEW)) {
			uint8_t *b = xalloc_aligned(n);
			dev_io(k, &im, rpos, b, n, 0);
			memcpy(dst, b, n);
			free(b);
		} else if (im.type == W_TYPE_DELALLOC && op) {
			fail("direct read node %llu pos %llu: DELALLOC mapping (iomap: EIO)",
			     (unsigned long long)ip->nodeid, (unsigned long long)rpos);
		} else {
			memset(dst, 0, n);
		}
		if (im.flags & W_F_WANT_IOMAP_END) {
			err = k_end(k, ip, op, rpos, n, (int64_t)n, &im);
			if (err)
				fail("END(read) node %llu pos %llu: %s",
				     (unsigned long long)ip->nodeid, (unsigned long long)rpos,
				     strerror(-err));
		}
		rpos += n;
		dst += n;
	}
}

/* Blocks [b0, b1) into dst: dirty ones from the pagecache, runs of clean
 * ones through BEGIN and the device. */
static void read_blocks(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t b0,
			uint64_t b1, uint8_t *dst)
{
	uint64_t bs = ibs(ip), b = b0;

	while (b < b1) {
		uint8_t *pb = pc_find(ip, b);
		uint64_t e;

		if (pb) {
			memcpy(dst + (b - b0) * bs, pb, bs);
			b++;
			continue;
		}
		for (e = b + 1; e < b1 && !pc_find(ip, e); e++)
			;
		read_mapped(k, ip, op, b * bs, e * bs, dst + (b - b0) * bs);
		b = e;
	}
}

size_t vfs_read(struct kernel *k, struct kinode *ip, uint64_t pos, void *buf, size_t len)
{
	uint64_t bs = ibs(ip), b0, b1;
	uint8_t *tmp;

	if (!ip->fileio)
		return classic_read(k, ip, pos, buf, len);
	if (pos >= ip->size)
		return 0;
	if (len > ip->size - pos)
		len = ip->size - pos;
	b0 = pos / bs;
	b1 = (pos + len + bs - 1) / bs;
	tmp = malloc((b1 - b0) * bs);
	if (!tmp)
		fail("out of memory");
	read_blocks(k, ip, 0, b0, b1, tmp);
	memcpy(buf, tmp + (pos - b0 * bs), len);
	free(tmp);
	return len;
}

size_t vfs_read_direct(struct kernel *k, struct kinode *ip, uint64_t pos, void *buf, size_t len)
{
	uint64_t bs = ibs(ip), end;
	uint8_t *tmp;

	if (!ip->directio || pos % bs || len % bs)
		return vfs_read(k, ip, pos, buf, len);
	if (pos >= ip->size)
		return 0;
	writeback_range(k, ip, pos / bs, (pos + len) / bs);
	end = pos + len;
	if (end > (ip->size + bs - 1) / bs * bs)
		end = (ip->size + bs - 1) / bs * bs;
	tmp = xalloc_aligned(end - pos);
	read_mapped(k, ip, W_OP_DIRECT, pos, end, tmp);
	if (end > ip->size)
		end = ip->size;
	memcpy(buf, tmp, end - pos);
	free(tmp);
	return end - pos;
}

/* ------------------------------------------------------------ size changes */

void vfs_truncate(struct kernel *k, struct kinode *ip, uint64_t size)
{
	uint64_t bs = ibs(ip), old = ip->size;
	int err;

	err = k_setattr_size(k, ip, size);
	if (err)
		fail("SETATTR size %llu node %llu: %s", (unsigned long long)size,
		     (unsigned long long)ip->nodeid, strerror(-err));
	if (!ip->fileio) {
		ip->size = size;
		return;
	}
	if (size > old)
		zero_range(k, ip, old, size - old);
	else if (size % bs)
		zero_range(k, ip, size, bs - size % bs);	/* iomap_truncate_page */
	ip->size = size;
	pc_drop(ip, (size + bs - 1) / bs, UINT64_MAX);	/* truncate_setsize */
	vfs_writeback(k, ip);
	mcache_inval(&ip->mc, size / bs * bs, UINT64_MAX);
}

int vfs_fallocate(struct kernel *k, struct kinode *ip, int mode, uint64_t off, uint64_t len)
{
	struct fuse_fallocate_in in = { ip->fh, off, len, (uint32_t)mode, 0 };
	uint64_t bs = ibs(ip), end = off + len, gran = bs > PAGE ? bs : PAGE;
	int err;

	if (ip->fileio && (mode & (FL_PUNCH_HOLE | FL_ZERO_RANGE))) {
		uint64_t s = off / gran * gran, e = (end + gran - 1) / gran * gran;
		writeback_range(k, ip, s / bs, e / bs);
		pc_drop(ip, s / bs, e / bs);
	}
	err = conn_call_exact(&k->c, FUSE_FALLOCATE, ip->nodeid, &in, sizeof(in), NULL, 0, NULL, 0);
	if (err)
		return err;
	if (!ip->fileio) {
		if (!(mode & FL_KEEP_SIZE) && end > ip->size)
			ip->size = end;
		return 0;
	}
	inval_blocks(ip, off, len);
	if (mode & (FL_PUNCH_HOLE | FL_ZERO_RANGE)) {
		uint64_t lim = ip->size;
		uint64_t hs = off, he = (off + bs - 1) / bs * bs;
		uint64_t ts = end / bs * bs, te = end;
		if (he > end)
			he = end;
		if (he > lim)
			he = lim;
		if (off % bs && hs < he)
			zero_range(k, ip, hs, he - hs);
		if (ts < he)
			ts = he;
		if (te > lim)
			te = lim;
		if (end % bs && ts < te && ts >= off)
			zero_range(k, ip, ts, te - ts);
	}
	if (!(mode & FL_KEEP_SIZE) && end > ip->size) {
		zero_range(k, ip, ip->size, end - ip->size);
		ip->size = end;
	}
	return 0;
}

/* ------------------------------------------------------------ reporting */

void vfs_report(struct kernel *k, struct kinode *ip, uint64_t from, uint64_t to, report_fn fn,
		void *ctx)
{
	while (from < to) {
		struct kmap im, sm;
		int err = k_begin(k, ip, W_OP_REPORT, from, to - from, &im, &sm);

		need(k, ip, err, "report", W_OP_REPORT, from, to - from);
		if (im.offset < from) {
			if (im.addr != W_NULL_ADDR)
				im.addr += from - im.offset;
			im.length -= from - im.offset;
			im.offset = from;
		}
		if (im.offset + im.length > to)
			im.length = to - im.offset;
		if (g_verbose > 1)
			note("REPORT node %llu [%llu,+%llu) %s addr 0x%llx flags 0x%x",
			     (unsigned long long)ip->nodeid, (unsigned long long)im.offset,
			     (unsigned long long)im.length, typename(im.type),
			     (unsigned long long)im.addr, im.flags);
		fn(ctx, &im);
		from = im.offset + im.length;
	}
}

struct seek_ctx {
	struct kinode *ip;
	int hole;
	int64_t found;
};

static int range_dirty(const struct kinode *ip, uint64_t s, uint64_t e)
{
	uint64_t bs = ibs(ip);
	size_t i = pc_index(ip, s / bs);

	return i < ip->ndirty && ip->dirty[i].blk * bs < e;
}

static void seek_cb(void *ctx, const struct kmap *m)
{
	struct seek_ctx *s = ctx;
	int data;

	if (s->found >= 0)
		return;
	if (m->type == W_TYPE_HOLE)
		data = range_dirty(s->ip, m->offset, m->offset + m->length);
	else if (m->type == W_TYPE_UNWRITTEN)
		data = range_dirty(s->ip, m->offset, m->offset + m->length);
	else
		data = 1;
	if (data != s->hole)
		s->found = (int64_t)m->offset;
}

int64_t vfs_seek(struct kernel *k, struct kinode *ip, uint64_t off, int hole)
{
	struct seek_ctx s = { ip, hole, -1 };

	if (off >= ip->size)
		return -ENXIO;
	/* the pagecache is written back first, so the disk answers alone */
	vfs_writeback(k, ip);
	vfs_report(k, ip, off, ip->size, seek_cb, &s);
	if (s.found >= 0)
		return s.found > (int64_t)off ? s.found : (int64_t)off;
	return hole ? (int64_t)ip->size : -ENXIO;
}
