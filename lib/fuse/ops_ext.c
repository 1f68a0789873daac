/*
 * ops_ext.c: the requests libfuse 3.14 cannot dispatch, answered through
 * wire.c: FUSE_INIT's iomap bits, FUSE_IOMAP_CONFIG/BEGIN/END/IOEND,
 * FUSE_SYNCFS and FUSE_STATX.  Same shape as every other handler: check
 * the request, take the lock, one core verb, drop the lock, reply once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>

#include "fuse/front.h"
#include "fuse/wire.h"
#include "fuse/wire_abi.h"

/* ---- FUSE_INIT: which mode this mount runs in ---- */

/*
 * The RFC kernel grants iomap only to a server holding CAP_SYS_RAWIO when
 * it processes our INIT reply; without it the mount silently stays
 * classic.  Decide the same way, so that what we log and count is what
 * happens (the sandboxed service has no capabilities unless the iomap
 * drop-in grants this one).  CapEff from /proc: no library needed.
 */
static int have_rawio(void)
{
	unsigned long long eff = 0;
	char line[128];
	FILE *st = fopen("/proc/self/status", "re");
	int found = 0;

	if (!st)
		return 1;	/* cannot tell: let the kernel decide */
	while (!found && fgets(line, sizeof(line), st))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(st);
	return !found || (eff >> CAP_SYS_RAWIO) & 1;
}

void ext_init_reply(struct front *f, uint32_t offered, uint32_t *flags, uint32_t *flags2,
		    int *fail)
{
	struct front_iomap *im = &f->iomap;
	const char *why = NULL;
	int err;

	if (im->want == IOMAP_NEVER)
		return;
	if (!(offered & NG_FUSE_IOMAP))
		why = "the kernel does not offer iomap";
	else if (im->why_not)
		why = im->why_not;
	else if (!have_rawio())
		why = "the daemon lacks CAP_SYS_RAWIO, which the kernel requires for iomap";
	else if (f->cfg->singlethread)
		why = "iomap needs more than one thread (-s was given)";
	if (!why) {
		/*
		 * Journaled writes stay on: the kernel's data I/O completes
		 * before IOEND, whose conversion joins the running transaction,
		 * and a commit's first flush is on this same block device.
		 */
		ngfs_lock(&f->nf);
		err = fdio_set_direct(f->nf.fs->io);
		ngfs_unlock(&f->nf);
		if (err)
			why = "the device cannot be switched to direct I/O";
	}
	if (why) {
		if (im->want == IOMAP_REQUIRED) {
			ngfs_log("%s: iomap=1, but %s: refusing to mount", f->nf.device, why);
			f->fatal = FRONT_EXIT_MOUNT;
			*fail = 1;
			fuse_session_exit(f->wire.se);
		} else if (im->quiet) {
			ngfs_debug(&f->nf, "%s; classic FUSE I/O", why);
		} else {
			ngfs_log("%s: %s; falling back to classic FUSE I/O", f->nf.device, why);
		}
		return;
	}
	im->flags2 = offered & NG_FUSE_IOMAP_ALL;
	im->attr_flags = 0;
	if (im->flags2 & NG_FUSE_IOMAP_DIRECTIO)
		im->attr_flags |= NG_FUSE_ATTR_IOMAP_DIRECTIO;
	if (im->flags2 & NG_FUSE_IOMAP_FILEIO)
		im->attr_flags |= NG_FUSE_ATTR_IOMAP_FILEIO;
	*flags |= FUSE_INIT_EXT;
	*flags2 |= im->flags2;
	im->on = 1;
	front_set_timeouts(f, 1);
	/* The kernel applies default ACLs and kills suid itself (RFC 4/4). */
	f->nf.kernel_acl = 1;
	ngfs_coarse_clock(1);
	ngfs_log("%s: iomap mode: the kernel moves file data itself (%s%s)", f->nf.device,
		 im->flags2 & NG_FUSE_IOMAP_FILEIO ? "buffered" : "",
		 im->flags2 & NG_FUSE_IOMAP_DIRECTIO ? (im->flags2 & NG_FUSE_IOMAP_FILEIO ?
							 " and direct I/O" : "direct I/O") : "");
}

/* Classic mode: the daemon alone does the device I/O (fdio_use_image). */
void ext_classic_io(struct front *f)
{
	int err;

	ngfs_lock(&f->nf);
	err = fdio_use_image(f->nf.fs->io);
	ngfs_unlock(&f->nf);
	if (err)
		ngfs_log("%s: cannot flush the loop device (%s); staying on it", f->nf.device,
			 strerror(err));
}

/* ---- FUSE_IOMAP_CONFIG ---- */

/* Register our device (plain fuse mounts); fuseblk's is id 1 already. */
static int register_device(struct front *f)
{
	struct ng_fuse_backing_map map = { .fd = f->iomap.dev_fd };
	int bs = f->nf.fs->blocksize, id;

	if (f->iomap.fuseblk) {
		f->iomap.dev_id = 1;
		return 0;
	}
	/* The device's page cache must not alias the blocks iomap writes. */
	if (ioctl(f->iomap.dev_fd, BLKBSZSET, &bs) < 0)
		ngfs_log("%s: cannot set the device block size to %d: %s", f->nf.device, bs,
			 strerror(errno));
	id = ioctl(f->wire.fd, NG_FUSE_DEV_IOC_IOMAP_DEV_ADD, &map);
	if (id <= 0) {
		int err = id < 0 ? errno : EIO;
		ngfs_log("%s: the kernel refused the device for iomap: %s", f->nf.device,
			 strerror(err));
		return err;
	}
	f->iomap.dev_id = id;
	return 0;
}

static void op_iomap_config(struct wire_req *r, const void *arg, size_t len)
{
	struct front *f = r->f;
	struct ng_iomap_config_out out;
	struct ngfs_geometry g;
	int err;

	if (len < sizeof(struct ng_iomap_config_in) || !f->iomap.on) {
		wire_reply(r, EINVAL, NULL, 0);
		return;
	}
	ngfs_lock(&f->nf);
	ngfs_iomap_geometry(&f->nf, &g);
	ngfs_unlock(&f->nf);
	err = register_device(f);
	memset(&out, 0, sizeof(out));
	out.flags = NG_IOMAP_CONFIG_SID | NG_IOMAP_CONFIG_UUID | NG_IOMAP_CONFIG_BLOCKSIZE |
		    NG_IOMAP_CONFIG_MAX_LINKS | NG_IOMAP_CONFIG_TIME | NG_IOMAP_CONFIG_MAXBYTES;
	snprintf(out.s_id, sizeof(out.s_id), "%s", g.name);
	memcpy(out.s_uuid, g.uuid, sizeof(out.s_uuid));
	out.s_uuid_len = sizeof(out.s_uuid);
	out.s_blocksize = g.blocksize;
	out.s_max_links = g.max_links;
	out.s_time_gran = g.time_gran;
	out.s_time_min = g.time_min;
	out.s_time_max = g.time_max;
	out.s_maxbytes = g.max_bytes;
	if (!err)
		ngfs_log("%s: iomap device id %u, block size %u", f->nf.device, f->iomap.dev_id,
			 g.blocksize);
	wire_reply(r, err, &out, sizeof(out));
}

/* ---- the mapping cache in the kernel ---- */

static uint16_t wire_type(enum ngfs_iomap_type t)
{
	switch (t) {
	case NGFS_IOMAP_MAPPED: return NG_IOMAP_TYPE_MAPPED;
	case NGFS_IOMAP_UNWRITTEN: return NG_IOMAP_TYPE_UNWRITTEN;
	case NGFS_IOMAP_INLINE: return NG_IOMAP_TYPE_INLINE;
	default: return NG_IOMAP_TYPE_HOLE;
	}
}

static int has_blocks(enum ngfs_iomap_type t)
{
	return t == NGFS_IOMAP_MAPPED || t == NGFS_IOMAP_UNWRITTEN;
}

/*
 * Send one iomap notification.  ESTALE: the kernel no longer has the inode
 * (evicted after our check), so nothing is cached; anything else means we
 * sent what the kernel cannot take: count and log it (the tests require 0).
 */
static void notify(struct front *f, int code, const void *msg, size_t len, ext2_ino_t ino,
		   uint64_t *counter)
{
	int err = wire_notify(f, code, msg, len);

	if (!err) {
		front_count(counter, 1);
	} else if (err != ESTALE && err != ENOENT) {
		front_count(&f->counters.notify_errors, 1);
		ngfs_log("%s: inode %u: the kernel refused the iomap %s notification: %s",
			 f->nf.device, ino, code == NG_FUSE_NOTIFY_IOMAP_INVAL ? "inval" : "upsert",
			 strerror(err));
	}
}

/*
 * Push a mapping into the kernel's cache (FILEIO inodes only).  Called with
 * the filesystem lock held, so no layout change (and its INVAL) can slip in
 * between computing the mapping and caching it.  Both lengths must be
 * nonzero even for the skipped write fork.  Only for the regular file the
 * kernel asked about (a BEGIN comes only for its iomap files).
 */
static void upsert(struct front *f, uint64_t nodeid, ext2_ino_t ino, const struct ngfs_iomap *m)
{
	struct ng_iomap_upsert_out u;

	if (!f->iomap.cache || !(f->iomap.flags2 & NG_FUSE_IOMAP_FILEIO) ||
	    m->type == NGFS_IOMAP_INLINE || !ngfs_iomap_cached_file(&f->nf, ino))
		return;
	memset(&u, 0, sizeof(u));
	u.nodeid = nodeid;
	u.attr_ino = ino;
	u.read_offset = m->offset;
	u.read_length = m->length;
	u.read_type = wire_type(m->type);
	u.read_addr = has_blocks(m->type) ? m->addr : NG_IOMAP_NULL_ADDR;
	u.read_dev = has_blocks(m->type) ? f->iomap.dev_id : NG_IOMAP_DEV_NULL;
	u.write_offset = m->offset;
	u.write_length = m->length;
	u.write_type = NG_IOMAP_TYPE_NULL;
	u.write_addr = NG_IOMAP_NULL_ADDR;
	u.write_dev = NG_IOMAP_DEV_NULL;
	notify(f, NG_FUSE_NOTIFY_IOMAP_UPSERT, &u, sizeof(u), ino, &f->counters.upserts);
}

/*
 * Forget everything the kernel cached for INO (layout changed under it).
 * The RFC v3 kernel takes the inode's cache lock without checking that the
 * inode has a cache: an INVAL for a directory, symlink or classic file
 * oopses it.  So only regular files the kernel holds (all of which it was
 * told are iomap files) get one.
 */
void front_iomap_inval(struct front *f, ext2_ino_t ino)
{
	struct ng_iomap_inval_out iv;

	if (!f->iomap.on || !f->iomap.cache || !(f->iomap.flags2 & NG_FUSE_IOMAP_FILEIO) ||
	    !ngfs_iomap_cached_file(&f->nf, ino))
		return;
	memset(&iv, 0, sizeof(iv));
	iv.nodeid = nodeid_of(ino);
	iv.attr_ino = ino;
	iv.read_offset = 0;
	iv.read_length = NG_IOMAP_INVAL_TO_EOF;
	iv.write_offset = 0;
	iv.write_length = NG_IOMAP_INVAL_TO_EOF;
	notify(f, NG_FUSE_NOTIFY_IOMAP_INVAL, &iv, sizeof(iv), ino, &f->counters.invals);
}

/* ---- FUSE_IOMAP_BEGIN / END / IOEND ---- */

#define KNOWN_OPFLAGS (NG_IOMAP_OP_WRITE | NG_IOMAP_OP_ZERO | NG_IOMAP_OP_REPORT | \
		       NG_IOMAP_OP_FAULT | NG_IOMAP_OP_DIRECT | NG_IOMAP_OP_NOWAIT | \
		       NG_IOMAP_OP_OVERWRITE_ONLY | NG_IOMAP_OP_UNSHARE | NG_IOMAP_OP_ATOMIC | \
		       NG_IOMAP_OP_DONTCACHE)
#define FILE_WRITE_OPS (NG_IOMAP_OP_WRITE | NG_IOMAP_OP_ZERO | NG_IOMAP_OP_UNSHARE)

/* The request's node and attr_ino must name the same inode. */
static int request_ino(struct wire_req *r, uint64_t attr_ino, ext2_ino_t *ino)
{
	*ino = ino_of(r->nodeid);
	if (!r->nodeid || r->nodeid > 0xffffffffULL || attr_ino != *ino) {
		ngfs_log("%s: iomap request for node %llu names inode %llu", r->f->nf.device,
			 (unsigned long long)r->nodeid, (unsigned long long)attr_ino);
		return EINVAL;
	}
	return 0;
}

/* The checks BEGIN, END and IOEND share: whole payload, iomap on, one inode. */
static int check_request(struct wire_req *r, size_t len, size_t need,
			 const uint64_t *attr_ino, ext2_ino_t *ino)
{
	if (len < need || !r->f->iomap.on)
		return EINVAL;
	return request_ino(r, *attr_ino, ino);
}

static unsigned int core_op(uint32_t opflags)
{
	unsigned int op = 0;

	if (opflags & (NG_IOMAP_OP_WRITE | NG_IOMAP_OP_UNSHARE))
		op |= NGFS_IOMAP_WRITE;
	else if (opflags & NG_IOMAP_OP_ZERO)
		op |= NGFS_IOMAP_WRITE | NGFS_IOMAP_ZERO_ONLY;
	if (opflags & NG_IOMAP_OP_REPORT)
		op |= NGFS_IOMAP_REPORT;
	if (opflags & (NG_IOMAP_OP_FAULT | NG_IOMAP_OP_DIRECT))
		op |= NGFS_IOMAP_BLOCKS;
	return op;
}

static void lock_as(struct wire_req *r)
{
	ngfs_lock_as(&r->f->nf, r->uid, r->gid);
}

static void op_iomap_begin(struct wire_req *r, const void *arg, size_t len)
{
	struct front *f = r->f;
	const struct ng_iomap_begin_in *in = arg;
	struct ng_iomap_begin_out out;
	struct ngfs_iomap m;
	ext2_ino_t ino;
	int err;

	front_count(&f->counters.iomap_begin, 1);
	if ((err = check_request(r, len, sizeof(*in), &in->attr_ino, &ino))) {
		wire_reply(r, err, NULL, 0);
		return;
	}
	if (in->opflags & ~KNOWN_OPFLAGS) {
		ngfs_log("%s: inode %u: iomap_begin with unknown operation flags 0x%x",
			 f->nf.device, ino, in->opflags);
		wire_reply(r, EINVAL, NULL, 0);
		return;
	}
	lock_as(r);
	err = ngfs_iomap_begin(&f->nf, ino, in->pos, in->count, core_op(in->opflags), &m);
	if (!err && m.type != NGFS_IOMAP_INLINE && !(in->opflags & NG_IOMAP_OP_REPORT))
		upsert(f, r->nodeid, ino, &m);
	ngfs_unlock(&f->nf);
	if (err) {
		wire_reply(r, err, NULL, 0);
		return;
	}
	if (m.flags & NGFS_IOMAP_NEW)
		front_count(&f->counters.iomap_alloc, 1);
	memset(&out, 0, sizeof(out));
	out.offset = m.offset;
	out.length = m.length;
	out.read_type = wire_type(m.type);
	out.read_addr = has_blocks(m.type) ? m.addr : NG_IOMAP_NULL_ADDR;
	out.read_dev = has_blocks(m.type) ? f->iomap.dev_id : NG_IOMAP_DEV_NULL;
	/* New blocks: the inode changed to reach them, and they hold no data. */
	out.read_flags = (m.flags & NGFS_IOMAP_NEW) ? NG_IOMAP_F_NEW | NG_IOMAP_F_DIRTY : 0;
	out.write_type = NG_IOMAP_TYPE_PURE_OVERWRITE;
	out.write_addr = NG_IOMAP_NULL_ADDR;
	out.write_dev = NG_IOMAP_DEV_NULL;
	wire_reply(r, 0, &out, sizeof(out));
}

static void op_iomap_end(struct wire_req *r, const void *arg, size_t len)
{
	struct front *f = r->f;
	const struct ng_iomap_end_in *in = arg;
	ext2_ino_t ino;
	int err;

	front_count(&f->counters.iomap_end, 1);
	if ((err = check_request(r, len, sizeof(*in), &in->attr_ino, &ino))) {
		wire_reply(r, err, NULL, 0);
		return;
	}
	if (!(in->opflags & FILE_WRITE_OPS)) {
		wire_reply(r, 0, NULL, 0);	/* reads and reports: nothing to finish */
		return;
	}
	lock_as(r);
	err = ngfs_iomap_end(&f->nf, ino, in->pos, in->count, in->written,
			     !!(in->map_flags & NG_IOMAP_F_SIZE_CHANGED));
	/* A short write may have given blocks back (block-mapped files). */
	if (in->written >= 0 && (uint64_t)in->written < in->count)
		front_iomap_inval(f, ino);
	ngfs_unlock(&f->nf);
	wire_reply(r, err, NULL, 0);
}

static void op_iomap_ioend(struct wire_req *r, const void *arg, size_t len)
{
	struct front *f = r->f;
	const struct ng_iomap_ioend_in *in = arg;
	unsigned int flags = 0;
	ext2_ino_t ino;
	int err;

	front_count(&f->counters.iomap_ioend, 1);
	if ((err = check_request(r, len, sizeof(*in), &in->attr_ino, &ino))) {
		wire_reply(r, err, NULL, 0);
		return;
	}
	if (in->ioendflags & NG_IOMAP_IOEND_UNWRITTEN)
		flags |= NGFS_IOEND_UNWRITTEN;
	if (in->ioendflags & NG_IOMAP_IOEND_APPEND)
		flags |= NGFS_IOEND_APPEND;
	if ((in->ioendflags & NG_IOMAP_IOEND_SHARED) || in->new_addr != NG_IOMAP_NULL_ADDR)
		flags |= NGFS_IOEND_SHARED;
	if (in->error > 0 || in->error < -4095) {
		ngfs_log("%s: inode %u: ioend with error %d, not a negative errno", f->nf.device,
			 ino, in->error);
		wire_reply(r, EINVAL, NULL, 0);
		return;
	}
	lock_as(r);
	err = ngfs_iomap_ioend(&f->nf, ino, in->pos, in->written, flags, -in->error);
	ngfs_unlock(&f->nf);
	wire_reply(r, err, NULL, 0);
}

/* ---- FUSE_SYNCFS, FUSE_STATX ---- */

static void op_syncfs(struct wire_req *r, const void *arg, size_t len)
{
	struct front *f = r->f;
	int err;

	(void)arg;
	(void)len;
	front_count(&f->counters.syncfs, 1);
	ngfs_lock(&f->nf);
	err = f->nf.readonly ? 0 : ngfs_flush(&f->nf, 1);
	ngfs_unlock(&f->nf);
	wire_reply(r, err, NULL, 0);
}

static void sx_time(struct ng_fuse_sx_time *t, const struct timespec *ts)
{
	t->tv_sec = ts->tv_sec;
	t->tv_nsec = ts->tv_nsec;
}

static void op_statx(struct wire_req *r, const void *arg, size_t len)
{
	struct front *f = r->f;
	struct ng_fuse_statx_out out;
	struct ng_fuse_statx *sx = &out.stat;
	struct ngfs_statx st;
	ext2_ino_t ino = ino_of(r->nodeid);
	int err;

	(void)arg;
	front_count(&f->counters.statx, 1);
	if (len < sizeof(struct ng_fuse_statx_in) || !r->nodeid || r->nodeid > 0xffffffffULL) {
		wire_reply(r, EINVAL, NULL, 0);
		return;
	}
	lock_as(r);
	err = ngfs_statx(&f->nf, ino, &st);
	ngfs_unlock(&f->nf);
	if (err) {
		wire_reply(r, err, NULL, 0);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.attr_valid = (uint64_t)f->attr_timeout;
	out.attr_valid_nsec = (uint32_t)((f->attr_timeout - (uint64_t)f->attr_timeout) * 1e9);
	sx->mask = STATX_BASIC_STATS | (st.has_btime ? STATX_BTIME : 0);
	sx->blksize = st.st.st_blksize;
	sx->attributes = st.attributes;
	sx->attributes_mask = st.attributes_mask;
	sx->nlink = st.st.st_nlink;
	sx->uid = st.st.st_uid;
	sx->gid = st.st.st_gid;
	sx->mode = st.st.st_mode;
	sx->ino = st.st.st_ino;
	sx->size = st.st.st_size;
	sx->blocks = st.st.st_blocks;
	sx_time(&sx->atime, &st.st.st_atim);
	sx_time(&sx->mtime, &st.st.st_mtim);
	sx_time(&sx->ctime, &st.st.st_ctim);
	sx_time(&sx->btime, &st.btime);
	sx->rdev_major = major(st.st.st_rdev);
	sx->rdev_minor = minor(st.st.st_rdev);
	wire_reply(r, 0, &out, sizeof(out));
}

void ext_dispatch(struct wire_req *r, const void *arg, size_t len)
{
	switch (r->opcode) {
	case NG_FUSE_IOMAP_CONFIG:
		front_count(&r->f->counters.iomap_config, 1);
		op_iomap_config(r, arg, len);
		break;
	case NG_FUSE_IOMAP_BEGIN:
		op_iomap_begin(r, arg, len);
		break;
	case NG_FUSE_IOMAP_END:
		op_iomap_end(r, arg, len);
		break;
	case NG_FUSE_IOMAP_IOEND:
		op_iomap_ioend(r, arg, len);
		break;
	case NG_FUSE_SYNCFS:
		op_syncfs(r, arg, len);
		break;
	case NG_FUSE_STATX:
		op_statx(r, arg, len);
		break;
	default:
		wire_reply(r, ENOSYS, NULL, 0);
	}
}
