/*
 * kernel.c: the kernel's requests and its checks of every reply: INIT,
 * IOMAP_CONFIG, device registration, inode instantiation (attr flags),
 * IOMAP_BEGIN with the mapping cache (spec 2.7, 2.10), END and IOEND (2.8),
 * UPSERT/INVAL notifications, block I/O to the registered device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "kernel.h"

#define MAX_LFS_FILESIZE 0x7fffffffffffffffULL

uint32_t ibs(const struct kinode *ip)
{
	return ip->blksize;
}

const char *typename(uint16_t t)
{
	switch (t) {
	case W_TYPE_HOLE: return "HOLE";
	case W_TYPE_DELALLOC: return "DELALLOC";
	case W_TYPE_MAPPED: return "MAPPED";
	case W_TYPE_UNWRITTEN: return "UNWRITTEN";
	case W_TYPE_INLINE: return "INLINE";
	case W_TYPE_NULL: return "NULL";
	case W_TYPE_PURE_OVERWRITE: return "PURE_OVERWRITE";
	}
	return "?";
}

struct kinode *k_inode(struct kernel *k, uint64_t nodeid)
{
	for (size_t i = 0; i < k->ninodes; i++)
		if (k->inodes[i]->nodeid == nodeid)
			return k->inodes[i];
	return NULL;
}

/* ------------------------------------------------------------ notifications */

static int valid_type(uint16_t t)
{
	return t <= W_TYPE_INLINE || t == W_TYPE_NULL || t == W_TYPE_PURE_OVERWRITE;
}

static struct kdev *find_dev(struct kernel *k, uint32_t id)
{
	for (int i = 0; i < k->ndev; i++)
		if (k->devs[i].id == id)
			return &k->devs[i];
	return NULL;
}

/*
 * One mapping's type/flags/dev/addr rules (spec 2.7 items 1, 2, 9, 10, 12,
 * 13), plus what a real bio would need (device bounds, alignment) and what
 * must never happen on ext4 (a mapping outside the filesystem or onto its
 * static metadata).  is_write: the write mapping (PURE_OVERWRITE allowed).
 */
static const char *check_one(struct kernel *k, uint32_t bs, const char *which, uint16_t type,
			     uint16_t flags, uint32_t dev, uint64_t addr, uint64_t length,
			     int is_write, char *why, size_t whylen)
{
	if (!valid_type(type))
		return snprintf(why, whylen, "%s type %u unknown", which, type), why;
	if (flags & ~W_F_ALL)
		return snprintf(why, whylen, "%s flags 0x%x outside 0x%x", which, flags, W_F_ALL), why;
	if (!is_write && type == W_TYPE_PURE_OVERWRITE)
		return snprintf(why, whylen, "%s type PURE_OVERWRITE", which), why;
	if (type == W_TYPE_MAPPED || type == W_TYPE_UNWRITTEN) {
		struct kdev *d;
		char mw[160];
		if (dev == W_DEV_NULL || addr == W_NULL_ADDR)
			return snprintf(why, whylen, "%s %s with dev %u addr 0x%llx", which,
					typename(type), dev, (unsigned long long)addr), why;
		if (addr + length < addr)
			return snprintf(why, whylen, "%s addr+length overflows", which), why;
		d = find_dev(k, dev);
		if (!d)
			return snprintf(why, whylen, "%s device id %u not registered", which, dev), why;
		if (addr % bs)
			return snprintf(why, whylen, "%s addr 0x%llx not aligned to %u", which,
					(unsigned long long)addr, bs), why;
		if (addr + length > d->size)
			return snprintf(why, whylen, "%s [0x%llx,+0x%llx) past the device end 0x%llx",
					which, (unsigned long long)addr,
					(unsigned long long)length, (unsigned long long)d->size), why;
		if (meta_overlaps(k, addr, length, mw, sizeof(mw)))
			return snprintf(why, whylen, "%s [0x%llx,+0x%llx): %s", which,
					(unsigned long long)addr, (unsigned long long)length, mw), why;
	} else {
		if (dev != W_DEV_NULL || addr != W_NULL_ADDR)
			return snprintf(why, whylen, "%s %s must have dev 0 and NULL addr (dev %u addr 0x%llx)",
					which, typename(type), dev, (unsigned long long)addr), why;
		if (type == W_TYPE_INLINE && length > PAGE)
			return snprintf(why, whylen, "%s INLINE length %llu > one page", which,
					(unsigned long long)length), why;
	}
	return NULL;
}

static void on_upsert(struct kernel *k, const struct w_iomap_upsert_out *u)
{
	struct kinode *ip = k_inode(k, u->nodeid);
	char why[256];
	const char *e;
	uint32_t bs;

	if (!k->iomap)
		fail("UPSERT on a connection without iomap (kernel: EINVAL)");
	if (!ip)
		fail("UPSERT for unknown nodeid %llu (kernel: ESTALE)", (unsigned long long)u->nodeid);
	if (u->attr_ino != ip->ino)
		fail("UPSERT for node %llu: attr_ino %llu, inode's fuse_attr.ino is %llu (kernel: EINVAL)",
		     (unsigned long long)u->nodeid, (unsigned long long)u->attr_ino,
		     (unsigned long long)ip->ino);
	if (!ip->fileio)
		fail("UPSERT for node %llu, which is not a FILEIO inode", (unsigned long long)u->nodeid);
	if (!u->read_length || !u->write_length)
		fail("UPSERT node %llu: read_length %llu write_length %llu; both must be nonzero (kernel: EIO)",
		     (unsigned long long)u->nodeid, (unsigned long long)u->read_length,
		     (unsigned long long)u->write_length);
	if (u->read_offset + u->read_length < u->read_offset ||
	    u->write_offset + u->write_length < u->write_offset)
		fail("UPSERT node %llu: file range overflows", (unsigned long long)u->nodeid);
	bs = ibs(ip);
	if ((e = check_one(k, bs, "upsert read", u->read_type, u->read_flags, u->read_dev,
			   u->read_addr, u->read_length, 0, why, sizeof(why))) ||
	    (e = check_one(k, bs, "upsert write", u->write_type, u->write_flags, u->write_dev,
			   u->write_addr, u->write_length, 1, why, sizeof(why))))
		fail("UPSERT node %llu read [%llu,+%llu) write [%llu,+%llu): %s (kernel: EIO)",
		     (unsigned long long)u->nodeid, (unsigned long long)u->read_offset,
		     (unsigned long long)u->read_length, (unsigned long long)u->write_offset,
		     (unsigned long long)u->write_length, e);
	if (u->read_type != W_TYPE_NULL &&
	    (u->read_offset >= k->maxbytes || u->read_offset % bs || u->read_length % bs))
		fail("UPSERT node %llu: read fork [%llu,+%llu) not aligned to %u or past maxbytes",
		     (unsigned long long)u->nodeid, (unsigned long long)u->read_offset,
		     (unsigned long long)u->read_length, bs);
	if (u->write_type != W_TYPE_NULL &&
	    (u->write_offset >= k->maxbytes || u->write_offset % bs || u->write_length % bs))
		fail("UPSERT node %llu: write fork [%llu,+%llu) not aligned to %u or past maxbytes",
		     (unsigned long long)u->nodeid, (unsigned long long)u->write_offset,
		     (unsigned long long)u->write_length, bs);
	ip->mc.enabled = 1;
	if (u->read_type != W_TYPE_NULL) {
		struct kmap m = { u->read_offset, u->read_length, u->read_addr, u->read_type,
				  u->read_flags, u->read_dev };
		fork_upsert(&ip->mc.rd, &m);
	}
	if (u->write_type != W_TYPE_NULL) {
		struct kmap m = { u->write_offset, u->write_length, u->write_addr, u->write_type,
				  u->write_flags, u->write_dev };
		fork_upsert(&ip->mc.wr, &m);
		ip->mc.has_wr = 1;
	}
	ip->mc.seq++;
	if (g_verbose)
		note("UPSERT node %llu read %s [%llu,+%llu) write %s", (unsigned long long)u->nodeid,
		     typename(u->read_type), (unsigned long long)u->read_offset,
		     (unsigned long long)u->read_length, typename(u->write_type));
}

static void on_inval(struct kernel *k, const struct w_iomap_inval_out *v)
{
	struct kinode *ip = k_inode(k, v->nodeid);
	uint64_t off[2] = { v->read_offset, v->write_offset };
	uint64_t len[2] = { v->read_length, v->write_length };

	if (!k->iomap)
		fail("INVAL on a connection without iomap (kernel: EINVAL)");
	if (!ip)
		fail("INVAL for unknown nodeid %llu (kernel: ESTALE)", (unsigned long long)v->nodeid);
	/*
	 * The RFC v3 kernel's fuse_iomap_inval takes the inode's mapping-cache
	 * lock without checking that it has one: only regular files made with
	 * FUSE_ATTR_IOMAP_FILEIO do.  Anything else oopses it.
	 */
	if (!ip->fileio)
		fail("INVAL for node %llu (mode 0%o, attr flags 0x%x), which the kernel does not treat "
		     "as an iomap file (kernel: oops on an uninitialised cache lock)",
		     (unsigned long long)v->nodeid, ip->mode, ip->attr_flags);
	if (v->attr_ino != ip->ino)
		fail("INVAL for node %llu: attr_ino %llu, inode's fuse_attr.ino is %llu",
		     (unsigned long long)v->nodeid, (unsigned long long)v->attr_ino,
		     (unsigned long long)ip->ino);
	for (int f = 0; f < 2; f++) {
		if (!len[f])
			continue;
		if (off[f] >= k->maxbytes || off[f] % ibs(ip) ||
		    (len[f] != W_INVAL_TO_EOF && len[f] % ibs(ip)))
			fail("INVAL node %llu %s fork [%llu,+%llu): not aligned to %u (kernel: EIO)",
			     (unsigned long long)v->nodeid, f ? "write" : "read",
			     (unsigned long long)off[f], (unsigned long long)len[f], ibs(ip));
		fork_remove(f ? &ip->mc.wr : &ip->mc.rd, off[f],
			    len[f] == W_INVAL_TO_EOF ? UINT64_MAX : len[f]);
	}
	ip->mc.seq++;
	if (g_verbose)
		note("INVAL node %llu read [%llu,+%llu) write [%llu,+%llu)",
		     (unsigned long long)v->nodeid, (unsigned long long)v->read_offset,
		     (unsigned long long)v->read_length, (unsigned long long)v->write_offset,
		     (unsigned long long)v->write_length);
}

static void on_notify(void *ctx, int code, const void *p, size_t len)
{
	struct kernel *k = ctx;

	if (code == W_NOTIFY_IOMAP_UPSERT) {
		struct w_iomap_upsert_out u;
		if (len != sizeof(u))
			fail("UPSERT payload %zu bytes, must be exactly %zu (kernel: EINVAL)", len,
			     sizeof(u));
		memcpy(&u, p, sizeof(u));
		on_upsert(k, &u);
	} else if (code == W_NOTIFY_IOMAP_INVAL) {
		struct w_iomap_inval_out v;
		if (len != sizeof(v))
			fail("INVAL payload %zu bytes, must be exactly %zu (kernel: EINVAL)", len,
			     sizeof(v));
		memcpy(&v, p, sizeof(v));
		on_inval(k, &v);
	} else {
		fail("unexpected notification code %d (%zu bytes)", code, len);
	}
}

/* ------------------------------------------------------------ setup */

static void open_devices(struct kernel *k)
{
	FILE *f = fopen(k->devfile, "r");
	unsigned id, maj, min;

	if (!f)
		fail("iomap negotiated but %s (NG_IOMAP_DEVFILE) does not exist: no FUSE_DEV_IOC_IOMAP_DEV_ADD reached devshim",
		     k->devfile);
	while (fscanf(f, "%u %u %u", &id, &maj, &min) == 3) {
		struct kdev *d;
		char sys[128], line[256], name[64] = "";
		FILE *u;

		if (k->ndev == MAXDEV)
			fail("more than %d devices registered", MAXDEV);
		d = &k->devs[k->ndev++];
		d->id = id;
		d->maj = maj;
		d->min = min;
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/uevent", maj, min);
		u = fopen(sys, "r");
		if (!u)
			fail("device %u (%u:%u): %s: %s", id, maj, min, sys, strerror(errno));
		while (fgets(line, sizeof(line), u))
			if (!strncmp(line, "DEVNAME=", 8))
				sscanf(line + 8, "%63s", name);
		fclose(u);
		if (!*name)
			fail("device %u:%u: no DEVNAME in %s", maj, min, sys);
		snprintf(d->path, sizeof(d->path), "/dev/%s", name);
		d->fd = open(d->path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (d->fd < 0)
			fail("open %s (device id %u): %s", d->path, id, strerror(errno));
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0)
			fail("BLKGETSIZE64 %s: %s", d->path, strerror(errno));
	}
	fclose(f);
	if (!k->ndev)
		fail("iomap negotiated but no device was registered (%s is empty)", k->devfile);
	/* Expected: exactly one registration, id 1 (cyclic allocation from 1). */
	if (k->ndev != 1 || k->devs[0].id != 1)
		fail("expected one device with id 1, got %d (first id %u)", k->ndev, k->devs[0].id);
}

int k_init(struct kernel *k)
{
	struct fuse_init_in in;
	struct fuse_init_out out;
	size_t got;
	int err;

	memset(&in, 0, sizeof(in));
	in.major = FUSE_KERNEL_VERSION;
	in.minor = k->offer_iomap ? W_FUSE_IOMAP_MINOR : 38;
	in.max_readahead = 128 * 1024;
	/* What a 6.16 kernel offers, less splice (a socket is not a pipe). */
	in.flags = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |
		   FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_FLOCK_LOCKS | FUSE_HAS_IOCTL_DIR |
		   FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
		   FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV |
		   FUSE_POSIX_ACL | FUSE_ABORT_ERROR | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS |
		   FUSE_NO_OPENDIR_SUPPORT | FUSE_EXPLICIT_INVAL_DATA | FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT |
		   FUSE_INIT_EXT;
	in.flags2 = k->offer_iomap ? W_FUSE2_IOMAP_ALL : 0;
	memset(&out, 0, sizeof(out));
	err = conn_call(&k->c, FUSE_INIT, 0, &in, sizeof(in), NULL, 0, &out, sizeof(out), &got);
	if (err)
		return err;
	if (got < 24)
		fail("INIT reply %zu bytes, too short", got);
	if (out.major != FUSE_KERNEL_VERSION)
		fail("INIT reply major %u", out.major);
	k->init_minor = out.minor;
	k->init_flags = out.flags;
	k->init_flags2 = (out.flags & W_FUSE_INIT_EXT) ? out.flags2 : 0;
	k->c.max_write = out.max_write ? out.max_write : 4096;
	if (out.flags & ~in.flags)
		fail("INIT reply flags 0x%x has bits we did not offer (0x%x)", out.flags,
		     out.flags & ~in.flags);
	if (k->init_flags2 & ~in.flags2)
		fail("INIT reply flags2 0x%x has bits we did not offer (0x%x)", k->init_flags2,
		     k->init_flags2 & ~in.flags2);
	k->iomap = !!(k->init_flags2 & W_FUSE2_IOMAP);
	k->directio = k->iomap && (k->init_flags2 & W_FUSE2_IOMAP_DIRECTIO);
	k->fileio = k->iomap && (k->init_flags2 & W_FUSE2_IOMAP_FILEIO);
	return 0;
}

void k_start(struct kernel *k, const char *fuse2fs, const char *shim, const char *opts)
{
	int err;

	char cwd[200];

	/* absolute: the daemon may change its working directory */
	if (!getcwd(cwd, sizeof(cwd)))
		fail("getcwd: %s", strerror(errno));
	snprintf(k->devfile, sizeof(k->devfile), "%s/devfile.%d", cwd, (int)getpid());
	meta_load(k);
	conn_start(&k->c, fuse2fs, shim, k->image, opts, k->devfile, "daemon.err");	/* opened before exec */
	k->c.notify = on_notify;
	k->c.notify_ctx = k;
	err = k_init(k);
	if (err)
		fail("INIT failed: %s", strerror(-err));
	k->maxbytes = MAX_LFS_FILESIZE;
	k->blocksize = k->fs_blocksize;
	if (!k->iomap) {
		note("INIT: minor %u flags 0x%x flags2 0x%x: classic protocol (no iomap)",
		     k->init_minor, k->init_flags, k->init_flags2);
		return;
	}
	/* process_init_reply -> fuse_iomap_fill_super: CONFIG, synchronously. */
	{
		struct w_iomap_config_in ci = { 0, (int64_t)MAX_LFS_FILESIZE };
		struct w_iomap_config_out *co = &k->cfg;

		memset(co, 0, sizeof(*co));
		err = conn_call_exact(&k->c, W_FUSE_IOMAP_CONFIG, 0, &ci, sizeof(ci), NULL, 0, co,
				      sizeof(*co));
		if (err == -ENOSYS) {
			k->config_enosys = 1;
		} else if (err) {
			fail("IOMAP_CONFIG: %s (kernel: \"could not configure iomap\", INIT fails)",
			     strerror(-err));
		} else {
			if (co->flags & ~(uint64_t)W_CONFIG_ALL)
				fail("IOMAP_CONFIG flags 0x%llx outside 0x3F (kernel: EINVAL)",
				     (unsigned long long)co->flags);
			if (co->s_uuid_len > 16)
				fail("IOMAP_CONFIG s_uuid_len %u > 16", co->s_uuid_len);
			if (co->s_pad[0] || co->s_pad[1] || co->s_pad[2])
				fail("IOMAP_CONFIG s_pad not zero");
			if (co->flags & W_CONFIG_BLOCKSIZE) {
				uint32_t b = co->s_blocksize;
				if (b < 512 || b > 65536 || (b & (b - 1)))
					fail("IOMAP_CONFIG s_blocksize %u not a power of two in [512,64k]", b);
				if (b != k->fs_blocksize)
					fail("IOMAP_CONFIG s_blocksize %u, the filesystem's is %u", b,
					     k->fs_blocksize);
				k->blocksize = b;
			}
			if ((co->flags & W_CONFIG_TIME) &&
			    (co->s_time_gran < 1 || co->s_time_gran > 1000000000 ||
			     co->s_time_min > co->s_time_max))
				fail("IOMAP_CONFIG time gran %u min %lld max %lld", co->s_time_gran,
				     (long long)co->s_time_min, (long long)co->s_time_max);
			if (co->flags & W_CONFIG_MAXBYTES) {
				if (co->s_maxbytes <= 0)
					fail("IOMAP_CONFIG s_maxbytes %lld", (long long)co->s_maxbytes);
				k->maxbytes = (uint64_t)co->s_maxbytes;
			}
			if ((co->flags & W_CONFIG_SID) && !memchr(co->s_id, 0, sizeof(co->s_id)))
				fail("IOMAP_CONFIG s_id has no NUL");
		}
	}
	open_devices(k);
	note("INIT: minor %u flags2 0x%x; CONFIG flags 0x%llx blocksize %u maxbytes %llu; device 1 = %s (%llu bytes)",
	     k->init_minor, k->init_flags2, (unsigned long long)k->cfg.flags, k->blocksize,
	     (unsigned long long)k->maxbytes, k->devs[0].path, (unsigned long long)k->devs[0].size);
}

void k_syncfs(struct kernel *k)
{
	struct w_syncfs_in in = { 0 };
	int err = conn_call_exact(&k->c, W_FUSE_SYNCFS, FUSE_ROOT_ID, &in, sizeof(in), NULL, 0,
				  NULL, 0);
	if (err)
		fail("SYNCFS: %s", strerror(-err));
}

int k_shutdown(struct kernel *k)
{
	int err, st;

	/* sync_filesystem: writeback, then SYNCFS; then DESTROY (spec 2.11 I). */
	if (k->iomap)
		k_syncfs(k);
	err = conn_call_exact(&k->c, FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL, 0);
	if (err)
		fail("DESTROY: %s", strerror(-err));
	for (int i = 0; i < k->ndev; i++) {
		close(k->devs[i].fd);
		k->devs[i].fd = -1;
	}
	st = conn_finish(&k->c, 60);
	return st;
}

void k_free(struct kernel *k)
{
	for (size_t i = 0; i < k->ninodes; i++) {
		struct kinode *ip = k->inodes[i];
		for (size_t j = 0; j < ip->ndirty; j++)
			free(ip->dirty[j].buf);
		free(ip->dirty);
		mcache_free(&ip->mc);
		free(ip);
	}
	free(k->inodes);
	free(k->meta);
	if (k->c.buf)
		free(k->c.buf);
	if (k->record)
		fclose(k->record);
	unlink(k->devfile);
	memset(k, 0, sizeof(*k));
}

/* ------------------------------------------------------------ inodes */

void k_check_attr(struct kernel *k, uint64_t nodeid, const struct fuse_attr *a, const char *what)
{
	uint32_t want = 0;

	if (S_ISREG(a->mode) && k->iomap) {
		if (k->directio)
			want |= W_ATTR_IOMAP_DIRECTIO;
		if (k->fileio)
			want |= W_ATTR_IOMAP_FILEIO;
	}
	if ((a->flags & (W_ATTR_IOMAP_DIRECTIO | W_ATTR_IOMAP_FILEIO)) != want)
		fail("%s: node %llu (mode 0%o) fuse_attr.flags 0x%x, want iomap bits 0x%x", what,
		     (unsigned long long)nodeid, a->mode, a->flags, want);
	if (nodeid == FUSE_ROOT_ID ? a->ino != 2 : a->ino != nodeid)
		fail("%s: node %llu has fuse_attr.ino %llu", what, (unsigned long long)nodeid,
		     (unsigned long long)a->ino);
	if (k->iomap && S_ISREG(a->mode) && a->blksize && a->blksize != k->blocksize)
		fail("%s: node %llu reports blksize %u, fs block size %u (i_blocksize would differ)",
		     what, (unsigned long long)nodeid, a->blksize, k->blocksize);
}

/*
 * fuse_iomap_init_inode's file attribute fetch (spec 2.12): for every new
 * regular file or directory other than the root, FUSE_OPEN/OPENDIR
 * O_RDONLY, FUSE_IOCTL FS_IOC_FSGETXATTR (FS_IOC_GETFLAGS if that is
 * ENOTTY), FUSE_RELEASE/RELEASEDIR.
 */
static void fileattr_probe(struct kernel *k, uint64_t nodeid, uint32_t mode, const char *name)
{
	int dir = S_ISDIR(mode), err;
	struct fuse_open_in oi = { O_RDONLY, 0 };
	struct fuse_open_out oo;
	struct fuse_release_in rl;
	struct fuse_ioctl_in ii;
	struct {
		struct fuse_ioctl_out o;
		unsigned char data[28];
	} out;
	struct fsxattr fx;
	size_t got;

	err = conn_call_exact(&k->c, dir ? FUSE_OPENDIR : FUSE_OPEN, nodeid, &oi, sizeof(oi), NULL,
			      0, &oo, sizeof(oo));
	if (err)
		fail("%s %s (new inode %llu): %s", dir ? "OPENDIR" : "OPEN", name,
		     (unsigned long long)nodeid, strerror(-err));
	memset(&ii, 0, sizeof(ii));
	memset(&fx, 0, sizeof(fx));
	ii.fh = oo.fh;
	ii.flags = dir ? FUSE_IOCTL_DIR : 0;
	ii.cmd = FS_IOC_FSGETXATTR;
	ii.in_size = ii.out_size = sizeof(fx);
	err = conn_call(&k->c, FUSE_IOCTL, nodeid, &ii, sizeof(ii), &fx, sizeof(fx), &out,
			sizeof(out), &got);
	if (err == -ENOTTY || err == -ENOSYS || (!err && got >= sizeof(out.o) && out.o.result == -ENOTTY)) {
		uint32_t fl = 0;
		ii.cmd = FS_IOC_GETFLAGS;
		ii.in_size = ii.out_size = sizeof(fl);
		err = conn_call(&k->c, FUSE_IOCTL, nodeid, &ii, sizeof(ii), &fl, sizeof(fl), &out,
				sizeof(out), &got);
		if (!err && got != sizeof(out.o) + sizeof(fl))
			fail("FUSE_IOCTL FS_IOC_GETFLAGS on %s: %zu-byte reply", name, got);
	} else if (!err && got != sizeof(out.o) + sizeof(fx)) {
		fail("FUSE_IOCTL FS_IOC_FSGETXATTR on %s: %zu-byte reply, expected %zu", name, got,
		     sizeof(out.o) + sizeof(fx));
	}
	if (err && err != -ENOTTY)
		fail("FUSE_IOCTL fileattr on %s: %s", name, strerror(-err));
	if (!err && (out.o.result < 0 || out.o.in_iovs || out.o.out_iovs || out.o.flags))
		fail("FUSE_IOCTL fileattr on %s: result %d flags 0x%x iovs %u/%u", name, out.o.result,
		     out.o.flags, out.o.in_iovs, out.o.out_iovs);
	memset(&rl, 0, sizeof(rl));
	rl.fh = oo.fh;
	rl.flags = O_RDONLY;
	err = conn_call_exact(&k->c, dir ? FUSE_RELEASEDIR : FUSE_RELEASE, nodeid, &rl, sizeof(rl),
			      NULL, 0, NULL, 0);
	if (err)
		fail("RELEASE %s: %s", name, strerror(-err));
}

static struct kinode *instantiate(struct kernel *k, const struct fuse_entry_out *e,
				  const char *name, const char *what)
{
	struct kinode *ip;

	if (!e->nodeid)
		fail("%s %s: nodeid 0", what, name);
	k_check_attr(k, e->nodeid, &e->attr, what);
	ip = k_inode(k, e->nodeid);
	if (ip) {
		ip->nlookup++;
		return ip;
	}
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		fail("out of memory");
	ip->nodeid = e->nodeid;
	ip->ino = e->attr.ino;
	ip->mode = e->attr.mode;
	ip->attr_flags = e->attr.flags;
	ip->blksize = e->attr.blksize ? e->attr.blksize : k->blocksize;
	ip->size = e->attr.size;
	ip->nlookup = 1;
	if (S_ISREG(ip->mode) && k->iomap) {
		ip->fileio = k->fileio && (e->attr.flags & W_ATTR_IOMAP_FILEIO);
		ip->directio = k->directio && (e->attr.flags & W_ATTR_IOMAP_DIRECTIO);
	}
	snprintf(ip->name, sizeof(ip->name), "%s", name);
	k->inodes = realloc(k->inodes, (k->ninodes + 1) * sizeof(*k->inodes));
	if (!k->inodes)
		fail("out of memory");
	k->inodes[k->ninodes++] = ip;
	if (k->iomap && (S_ISREG(ip->mode) || S_ISDIR(ip->mode)) && ip->nodeid != FUSE_ROOT_ID)
		fileattr_probe(k, ip->nodeid, ip->mode, name);
	return ip;
}

struct kinode *k_lookup(struct kernel *k, uint64_t parent, const char *name, int *errp)
{
	struct fuse_entry_out e;
	int err;

	err = conn_call_exact(&k->c, FUSE_LOOKUP, parent, name, strlen(name) + 1, NULL, 0, &e,
			      sizeof(e));
	if (errp)
		*errp = err;
	if (err)
		return NULL;
	if (!e.nodeid)
		return NULL;	/* negative entry */
	return instantiate(k, &e, name, "LOOKUP");
}

struct kinode *k_create(struct kernel *k, uint64_t parent, const char *name, uint32_t mode)
{
	struct fuse_create_in in = { O_RDWR | O_CREAT, S_IFREG | mode, 022, 0 };
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out;
	struct kinode *ip;
	int err;

	_Static_assert(sizeof(out) == 144, "create reply");
	err = conn_call_exact(&k->c, FUSE_CREATE, parent, &in, sizeof(in), name, strlen(name) + 1,
			      &out, sizeof(out));
	if (err)
		fail("CREATE %s: %s", name, strerror(-err));
	ip = instantiate(k, &out.e, name, "CREATE");
	ip->fh = out.o.fh;
	ip->has_fh = 1;
	return ip;
}

struct kinode *k_mkdir(struct kernel *k, uint64_t parent, const char *name)
{
	struct fuse_mkdir_in in = { S_IFDIR | 0755, 022 };
	struct fuse_entry_out e;
	int err;

	err = conn_call_exact(&k->c, FUSE_MKDIR, parent, &in, sizeof(in), name, strlen(name) + 1,
			      &e, sizeof(e));
	if (err)
		fail("MKDIR %s: %s", name, strerror(-err));
	return instantiate(k, &e, name, "MKDIR");
}

void k_getattr(struct kernel *k, struct kinode *ip, struct fuse_attr *a)
{
	struct fuse_getattr_in in = { 0, 0, 0 };
	struct fuse_attr_out out;
	int err;

	err = conn_call_exact(&k->c, FUSE_GETATTR, ip->nodeid, &in, sizeof(in), NULL, 0, &out,
			      sizeof(out));
	if (err)
		fail("GETATTR node %llu: %s", (unsigned long long)ip->nodeid, strerror(-err));
	k_check_attr(k, ip->nodeid, &out.attr, "GETATTR");
	if (a)
		*a = out.attr;
}

int k_setattr_size(struct kernel *k, struct kinode *ip, uint64_t size)
{
	struct fuse_setattr_in in;
	struct fuse_attr_out out;
	int err;

	memset(&in, 0, sizeof(in));
	in.valid = FATTR_SIZE;
	in.size = size;
	if (ip->has_fh) {
		in.valid |= FATTR_FH;
		in.fh = ip->fh;
	}
	err = conn_call_exact(&k->c, FUSE_SETATTR, ip->nodeid, &in, sizeof(in), NULL, 0, &out,
			      sizeof(out));
	if (err)
		return err;
	k_check_attr(k, ip->nodeid, &out.attr, "SETATTR");
	if (out.attr.size != size)
		fail("SETATTR size %llu on node %llu: reply attr.size %llu",
		     (unsigned long long)size, (unsigned long long)ip->nodeid,
		     (unsigned long long)out.attr.size);
	return 0;
}

/* write_inode: the cached timestamps go back with SETATTR (spec 2.11 B10). */
void k_push_times(struct kernel *k, struct kinode *ip)
{
	struct fuse_setattr_in in;
	struct fuse_attr_out out;
	int err;

	memset(&in, 0, sizeof(in));
	in.valid = FATTR_MTIME | FATTR_CTIME | FATTR_ATIME;
	in.atime = in.mtime = in.ctime = 1700000000;
	err = conn_call_exact(&k->c, FUSE_SETATTR, ip->nodeid, &in, sizeof(in), NULL, 0, &out,
			      sizeof(out));
	if (err)
		fail("SETATTR times node %llu: %s", (unsigned long long)ip->nodeid, strerror(-err));
	k_check_attr(k, ip->nodeid, &out.attr, "SETATTR(times)");
	if (ip->fileio && out.attr.size != ip->size)
		fail("SETATTR(times) node %llu: size %llu, in-core i_size %llu",
		     (unsigned long long)ip->nodeid, (unsigned long long)out.attr.size,
		     (unsigned long long)ip->size);
}

void k_fsync(struct kernel *k, struct kinode *ip)
{
	struct fuse_fsync_in in = { ip->fh, 0, 0 };
	int err = conn_call_exact(&k->c, FUSE_FSYNC, ip->nodeid, &in, sizeof(in), NULL, 0, NULL, 0);

	if (err)
		fail("FSYNC node %llu: %s", (unsigned long long)ip->nodeid, strerror(-err));
}

void k_readdirplus(struct kernel *k, uint64_t dir, int *nentries)
{
	struct fuse_open_in oi = { O_RDONLY, 0 };
	struct fuse_open_out oo;
	struct fuse_read_in ri;
	struct fuse_release_in rl;
	static unsigned char buf[65536];
	uint64_t off = 0;
	size_t got;
	int err, n = 0;

	err = conn_call_exact(&k->c, FUSE_OPENDIR, dir, &oi, sizeof(oi), NULL, 0, &oo, sizeof(oo));
	if (err)
		fail("OPENDIR %llu: %s", (unsigned long long)dir, strerror(-err));
	for (;;) {
		size_t p = 0;
		memset(&ri, 0, sizeof(ri));
		ri.fh = oo.fh;
		ri.offset = off;
		ri.size = sizeof(buf);
		err = conn_call(&k->c, FUSE_READDIRPLUS, dir, &ri, sizeof(ri), NULL, 0, buf,
				sizeof(buf), &got);
		if (err)
			fail("READDIRPLUS %llu: %s", (unsigned long long)dir, strerror(-err));
		if (!got)
			break;
		while (p < got) {
			struct fuse_direntplus *d = (void *)(buf + p);
			char name[256];
			if (got - p < FUSE_NAME_OFFSET_DIRENTPLUS ||
			    got - p < FUSE_DIRENTPLUS_SIZE(d) || d->dirent.namelen > 255)
				fail("READDIRPLUS: malformed entry at %zu of %zu", p, got);
			memcpy(name, d->dirent.name, d->dirent.namelen);
			name[d->dirent.namelen] = 0;
			if (d->entry_out.nodeid && strcmp(name, ".") && strcmp(name, "..")) {
				struct kinode *ip = instantiate(k, &d->entry_out, name, "READDIRPLUS");
				(void)ip;
				n++;
			}
			off = d->dirent.off;
			p += FUSE_DIRENTPLUS_SIZE(d);
		}
	}
	memset(&rl, 0, sizeof(rl));
	rl.fh = oo.fh;
	conn_call_exact(&k->c, FUSE_RELEASEDIR, dir, &rl, sizeof(rl), NULL, 0, NULL, 0);
	if (nentries)
		*nentries = n;
}

void k_statx(struct kernel *k, struct kinode *ip)
{
	struct w_statx_in in = { 0, 0, 0, 0, 0x7ff };
	struct w_statx_out out;
	int err;

	err = conn_call_exact(&k->c, W_FUSE_STATX, ip->nodeid, &in, sizeof(in), NULL, 0, &out,
			      sizeof(out));
	if (err)
		fail("STATX node %llu: %s", (unsigned long long)ip->nodeid, strerror(-err));
	if (out.stat.ino != ip->ino)
		fail("STATX node %llu: ino %llu", (unsigned long long)ip->nodeid,
		     (unsigned long long)out.stat.ino);
	if (S_ISREG(ip->mode) && out.stat.size != ip->size)
		fail("STATX node %llu: size %llu, in-core i_size %llu", (unsigned long long)ip->nodeid,
		     (unsigned long long)out.stat.size, (unsigned long long)ip->size);
	if ((out.stat.mode & S_IFMT) != (ip->mode & S_IFMT))
		fail("STATX node %llu: mode 0%o", (unsigned long long)ip->nodeid, out.stat.mode);
}

/* ------------------------------------------------------------ BEGIN/END/IOEND */

int k_begin_raw(struct kernel *k, uint64_t nodeid, uint64_t attr_ino, uint32_t op, uint64_t pos,
		uint64_t count, struct w_iomap_begin_out *out)
{
	struct w_iomap_begin_in in = { op, 0, attr_ino, pos, count };

	memset(out, 0, sizeof(*out));
	return conn_call_exact(&k->c, W_FUSE_IOMAP_BEGIN, nodeid, &in, sizeof(in), NULL, 0, out,
			       sizeof(*out));
}

const char *k_validate_begin(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos,
			     const struct w_iomap_begin_out *o)
{
	static char why[512];
	uint32_t bs = ibs(ip);
	const char *e;

	if (o->offset > pos)
		return snprintf(why, sizeof(why), "offset %llu > pos %llu",
				(unsigned long long)o->offset, (unsigned long long)pos), why;
	if (!o->length)
		return "length 0";
	if (o->offset % bs || o->length % bs)
		return snprintf(why, sizeof(why), "offset %llu / length %llu not multiples of %u",
				(unsigned long long)o->offset, (unsigned long long)o->length, bs), why;
	if (o->offset + o->length < o->offset || o->offset + o->length <= pos)
		return snprintf(why, sizeof(why), "mapping [%llu,+%llu) ends at or before pos %llu",
				(unsigned long long)o->offset, (unsigned long long)o->length,
				(unsigned long long)pos), why;
	if (o->offset >= k->maxbytes)
		return "offset >= s_maxbytes";
	if (o->read_type == W_TYPE_PURE_OVERWRITE)
		return "read_type PURE_OVERWRITE";
	if (o->read_type == W_TYPE_NULL && !ip->mc.enabled)
		return "read_type NULL, but no UPSERT happened for this inode";
	if ((e = check_one(k, bs, "read", o->read_type, o->read_flags, o->read_dev, o->read_addr,
			   o->length, 0, why, sizeof(why))))
		return e;
	if ((e = check_one(k, bs, "write", o->write_type, o->write_flags, o->write_dev,
			   o->write_addr, o->length, 1, why, sizeof(why))))
		return e;
	return NULL;
}

/* The cache lookup of fuse_iomap_try_cache (spec 2.10). */
static int try_cache(struct kinode *ip, uint32_t op, uint64_t pos, struct kmap *im,
		     struct kmap *sm)
{
	const struct kmap *r, *w;

	memset(sm, 0, sizeof(*sm));
	sm->addr = W_NULL_ADDR;
	if (!ip->mc.enabled)
		return 0;
	r = fork_find(&ip->mc.rd, pos);
	if (W_OP_IS_FILE_WRITE(op) && ip->mc.has_wr) {
		w = fork_find(&ip->mc.wr, pos);
		if (!w)
			return 0;
		if (w->type != W_TYPE_PURE_OVERWRITE) {
			uint64_t s, e;
			if (!r)
				return 0;
			*im = *w;
			*sm = *r;
			/* both trimmed to where they overlap */
			s = im->offset > sm->offset ? im->offset : sm->offset;
			e = im->offset + im->length < sm->offset + sm->length ?
				im->offset + im->length : sm->offset + sm->length;
			for (struct kmap *m = im; m; m = (m == im ? sm : NULL)) {
				if (m->addr != W_NULL_ADDR)
					m->addr += s - m->offset;
				m->offset = s;
				m->length = e - s;
			}
			return 1;
		}
	}
	if (!r)
		return 0;
	if (W_OP_IS_FILE_WRITE(op)) {
		if (r->type == W_TYPE_HOLE && !(op & (W_OP_ZERO | W_OP_UNSHARE)))
			return 0;
		if (r->type == W_TYPE_DELALLOC && (op & W_OP_DIRECT))
			return 0;
	}
	*im = *r;
	return 1;
}

int k_begin(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos, uint64_t count,
	    struct kmap *im, struct kmap *sm)
{
	struct w_iomap_begin_out o;
	const char *why;
	int err, tries;

	for (tries = 0;; tries++) {
		if (ip->mc.enabled) {
			conn_drain(&k->c);
			if (try_cache(ip, op, pos, im, sm)) {
				k->c.cnt.begin_cached++;
				return 0;
			}
		}
		if (tries > 16)
			fail("BEGIN op 0x%x node %llu pos %llu: still a cache miss after %d NULL replies",
			     op, (unsigned long long)ip->nodeid, (unsigned long long)pos, tries);
		err = k_begin_raw(k, ip->nodeid, ip->ino, op, pos, count, &o);
		if (err)
			return err;
		why = k_validate_begin(k, ip, op, pos, &o);
		if (why)
			fail("BEGIN op 0x%x node %llu pos %llu count %llu: reply [%llu,+%llu) read %s/0x%x dev %u addr 0x%llx write %s: %s (kernel: EIO)",
			     op, (unsigned long long)ip->nodeid, (unsigned long long)pos,
			     (unsigned long long)count, (unsigned long long)o.offset,
			     (unsigned long long)o.length, typename(o.read_type), o.read_flags,
			     o.read_dev, (unsigned long long)o.read_addr, typename(o.write_type), why);
		if (o.read_type == W_TYPE_NULL) {
			k->c.cnt.null_retry++;
			continue;	/* the daemon upserted: retry the cache */
		}
		break;
	}
	memset(sm, 0, sizeof(*sm));
	sm->addr = W_NULL_ADDR;
	if (W_OP_IS_FILE_WRITE(op) && o.write_type != W_TYPE_PURE_OVERWRITE) {
		if (o.write_type == W_TYPE_NULL)
			fail("BEGIN op 0x%x node %llu pos %llu: write_type NULL with read_type %s",
			     op, (unsigned long long)ip->nodeid, (unsigned long long)pos,
			     typename(o.read_type));
		*im = (struct kmap){ o.offset, o.length, o.write_addr, o.write_type, o.write_flags,
				     o.write_dev };
		*sm = (struct kmap){ o.offset, o.length, o.read_addr, o.read_type, o.read_flags,
				     o.read_dev };
	} else {
		*im = (struct kmap){ o.offset, o.length, o.read_addr, o.read_type, o.read_flags,
				     o.read_dev };
	}
	return 0;
}

int k_end(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos, uint64_t count,
	  int64_t written, const struct kmap *m)
{
	struct w_iomap_end_in in = { op, 0, ip->ino, pos, count, written, m->length, m->addr,
				     m->type, m->flags, 0 };
	int err = conn_call_exact(&k->c, W_FUSE_IOMAP_END, ip->nodeid, &in, sizeof(in), NULL, 0,
				  NULL, 0);

	if (err == -ENOSYS)
		fail("IOMAP_END node %llu pos %llu: ENOSYS", (unsigned long long)ip->nodeid,
		     (unsigned long long)pos);
	return err;
}

int k_ioend_raw(struct kernel *k, uint64_t nodeid, uint64_t attr_ino, uint16_t flags,
		int error, uint64_t pos, uint64_t written)
{
	struct w_iomap_ioend_in in = { flags, 0, error, attr_ino, pos, W_NULL_ADDR,
				       (uint32_t)written, 0 };

	return conn_call_exact(&k->c, W_FUSE_IOMAP_IOEND, nodeid, &in, sizeof(in), NULL, 0, NULL,
			       0);
}

int k_ioend(struct kernel *k, struct kinode *ip, uint16_t flags, int error, uint64_t pos,
	    uint64_t written)
{
	int err;

	if (written > UINT32_MAX)
		fail("ioend of %llu bytes does not fit in 32 bits", (unsigned long long)written);
	if (pos + written > ip->size)
		flags |= W_IOEND_APPEND;
	if (!error && !(written && (flags & (W_IOEND_SHARED | W_IOEND_UNWRITTEN | W_IOEND_APPEND))))
		return 0;
	err = k_ioend_raw(k, ip->nodeid, ip->ino, flags, error, pos, written);
	if (err == -ENOSYS)
		fail("IOMAP_IOEND node %llu pos %llu: ENOSYS (i_size would not be updated)",
		     (unsigned long long)ip->nodeid, (unsigned long long)pos);
	if (!err && !error) {
		uint64_t bs = ibs(ip), s = pos / bs * bs, e = (pos + written + bs - 1) / bs * bs;
		if (pos + written > ip->size)
			ip->size = pos + written;
		mcache_inval(&ip->mc, s, e - s);
	}
	return err;
}

/* ------------------------------------------------------------ block I/O */

void dev_io(struct kernel *k, const struct kmap *m, uint64_t file_pos, void *buf, size_t len,
	    int write)
{
	struct kdev *d = find_dev(k, m->dev);
	uint64_t addr;
	ssize_t r;

	if (!d)
		fail("I/O to unregistered device %u", m->dev);
	if (file_pos < m->offset || file_pos + len > m->offset + m->length)
		fail("internal: I/O [%llu,+%zu) outside mapping [%llu,+%llu)",
		     (unsigned long long)file_pos, len, (unsigned long long)m->offset,
		     (unsigned long long)m->length);
	addr = m->addr + (file_pos - m->offset);
	if (addr % 512 || len % 512 || (uintptr_t)buf % 512)
		fail("internal: unaligned bio addr %llu len %zu", (unsigned long long)addr, len);
	while (len) {
		r = write ? pwrite(d->fd, buf, len, (off_t)addr) : pread(d->fd, buf, len, (off_t)addr);
		if (r <= 0)
			fail("%s %s at %llu (%zu bytes): %s", write ? "pwrite" : "pread", d->path,
			     (unsigned long long)addr, len, r < 0 ? strerror(errno) : "short");
		buf = (char *)buf + r;
		len -= (size_t)r;
		addr += (uint64_t)r;
	}
}
