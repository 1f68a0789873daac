/*
 * ops_tmpfile.c: FUSE_TMPFILE, open(dir, O_TMPFILE).
 *
 * libfuse 3.14 has no operation for it (it would answer ENOSYS, and the
 * kernel then gives EOPNOTSUPP), so the wire layer hands it here.  The
 * request is a FUSE_CREATE without a name that matters (the kernel sends
 * "/"); the reply is the same pair: fuse_entry_out, fuse_open_out.  The new
 * inode has no links and sits on the orphan list (lib/core/node.c) until
 * linkat gives it a name, or the kernel lets go of it and it is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/front.h"
#include "fuse/wire.h"
#include "fuse/wire_abi.h"

/*
 * Is GID one of the caller's groups?  Only for the set-group-ID bit of the
 * new file; libfuse's fuse_req_getgroups() reads the same /proc file.
 */
static int caller_in_group(void *ctx, gid_t gid)
{
	const struct wire_req *r = ctx;
	char path[64], line[4096];
	int found = r->gid == gid;
	FILE *st;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/status", (unsigned)r->pid,
		 (unsigned)r->pid);
	if (found || !(st = fopen(path, "re")))
		return found;
	while (!found && fgets(line, sizeof(line), st)) {
		char *p = line + 7, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		for (;;) {
			unsigned long g = strtoul(p, &end, 10);
			if (end == p)
				break;
			if (g == gid)
				found = 1;
			p = end;
		}
	}
	fclose(st);
	return found;
}

static void fill_attr(struct front *f, const struct stat *st, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = st->st_size;
	a->blocks = st->st_blocks;
	a->atime = st->st_atim.tv_sec;
	a->atimensec = st->st_atim.tv_nsec;
	a->mtime = st->st_mtim.tv_sec;
	a->mtimensec = st->st_mtim.tv_nsec;
	a->ctime = st->st_ctim.tv_sec;
	a->ctimensec = st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = st->st_rdev;
	a->blksize = st->st_blksize;
	a->flags = f->iomap.attr_flags;	/* a regular file: iomap applies */
}

struct tmpfile_reply {
	struct fuse_entry_out entry;
	struct fuse_open_out open;
};

/* The new inode, its entry (one lookup) and an open handle (lock held). */
static int make_tmpfile(struct wire_req *r, const struct fuse_create_in *in,
			struct tmpfile_reply *out, ext2_ino_t *ino)
{
	struct front *f = r->f;
	struct ngfs_creds cr = {
		.uid = r->uid, .gid = r->gid, .umask = in->umask,
		.in_group = caller_in_group, .ctx = r,
	};
	struct ext2_inode_large inode;
	struct front_file *fh;
	struct stat st;
	int err;

	if ((err = ngfs_create_unnamed(&f->nf, ino_of(r->nodeid), NGFS_TMPFILE,
				       S_IFREG | (in->mode & 07777), &cr, ino)) ||
	    (err = ngfs_read_inode(&f->nf, *ino, &inode)))
		return err;
	if (!(fh = calloc(1, sizeof(*fh))))
		return ENOMEM;	/* the orphan goes at unmount (or e2fsck) */
	fh->ino = *ino;
	fh->append = !!(in->flags & O_APPEND);
	ngfs_inode_stat(&f->nf, *ino, &inode, &st);
	fill_attr(f, &st, &out->entry.attr);
	out->entry.nodeid = nodeid_of(*ino);
	out->entry.generation = inode.i_generation;
	out->entry.entry_valid = 0;	/* no name to cache */
	out->entry.attr_valid = (uint64_t)f->attr_timeout;
	out->entry.attr_valid_nsec = (uint32_t)((f->attr_timeout -
						 (uint64_t)f->attr_timeout) * 1e9);
	out->open.fh = (uintptr_t)fh;
	out->open.open_flags = FOPEN_KEEP_CACHE;	/* as ops_file.c's open */
	ngfs_node_lookup(&f->nf, *ino);
	ngfs_node_open(&f->nf, *ino);
	return 0;
}

void front_op_tmpfile(struct wire_req *r, const void *arg, size_t len)
{
	struct front *f = r->f;
	struct tmpfile_reply out;
	ext2_ino_t ino = 0;
	int err = EINVAL;

	memset(&out, 0, sizeof(out));
	ngfs_lock_as(&f->nf, r->uid, r->gid);
	if (len >= sizeof(struct fuse_create_in))
		err = make_tmpfile(r, arg, &out, &ino);
	ngfs_unlock(&f->nf);
	if (wire_reply(r, err, &out, sizeof(out)) && !err) {
		/* Interrupted: the kernel never saw the inode; let it go. */
		ngfs_lock(&f->nf);
		ngfs_node_release(&f->nf, ino);
		ngfs_node_forget(&f->nf, ino, 1);
		ngfs_unlock(&f->nf);
		free((struct front_file *)(uintptr_t)out.open.fh);
	}
}
