/*
 * validate.c: never make a damaged filesystem worse.
 *
 * An operation that frees blocks (unlink, truncate, punch) first checks
 * everything it will touch: every node of the extent tree (or every
 * indirect block) and every mapped block, and the xattr block.  If
 * anything is corrupt, it refuses with EUCLEAN before it has changed
 * anything; libext2fs' punch would otherwise stop half-way through a
 * corrupt tree and leave the inode, the tree and the bitmaps disagreeing.
 *
 * The allocators trust the bitmaps; a bitmap that lies hands out an inode
 * or a block that is in use.  What can be checked cheaply is checked
 * here: a new inode must really be free on disk, and the group's
 * bg_itable_unused and INODE_UNINIT flag are kept right after every
 * allocation, as the kernel does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "core/ngfs.h"

/* Walks stop here: a corrupt tree may claim more than any real file has. */
#define VALIDATE_MAX_STEPS (1u << 24)

struct prange {
	blk64_t start, len;
};

struct claims {
	struct prange *r;
	size_t n, cap;
};

static int claims_add(struct claims *c, blk64_t start, blk64_t len)
{
	if (c->n && c->r[c->n - 1].start + c->r[c->n - 1].len == start) {
		c->r[c->n - 1].len += len;	/* contiguous: one range */
		return 0;
	}
	if (ng_array_room(&c->r, &c->cap, c->n, sizeof(*c->r), 64))
		return ENOMEM;
	c->r[c->n].start = start;
	c->r[c->n].len = len;
	c->n++;
	return 0;
}

static int cmp_prange(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* A block claimed twice by the same inode would be freed twice. */
static int claims_overlap(struct claims *c)
{
	size_t i;

	if (c->n < 2)
		return 0;	/* (and qsort must not see the NULL of an empty list) */
	qsort(c->r, c->n, sizeof(*c->r), cmp_prange);
	for (i = 1; i < c->n; i++)
		if (c->r[i - 1].start + c->r[i - 1].len > c->r[i].start)
			return 1;
	return 0;
}

static int bad(struct ngfs *nf, ext2_ino_t ino, const char *op, const char *what,
	       const char *why)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s %s", what, why);
	return ngfs_corrupt(nf, op, ino, msg);
}

static int validate_extents(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			    const char *op, struct claims *c)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	const char *why;
	errcode_t err;
	unsigned int steps = 0;
	int ret = 0;

	err = ext2fs_extent_open2(nf->fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return ngfs_errno(nf, err, op, ino);
	for (err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext); !err && !ret;
	     err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ext)) {
		if (++steps > VALIDATE_MAX_STEPS) {
			ret = bad(nf, ino, op, "extent tree", "is too large to be real");
			break;
		}
		if (ext.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
			continue;
		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			/* an index entry: the node below it */
			if ((why = ngfs_bad_range(nf, ext.e_pblk, 1)))
				ret = bad(nf, ino, op, "extent index", why);
			else
				ret = claims_add(c, ext.e_pblk, 1);
			continue;
		}
		if (!ext.e_len)
			ret = bad(nf, ino, op, "extent", "has length zero");
		else if ((why = ngfs_bad_range(nf, ext.e_pblk, ext.e_len)))
			ret = bad(nf, ino, op, "extent", why);
		else
			ret = claims_add(c, ext.e_pblk, ext.e_len);
	}
	if (!ret && err && err != EXT2_ET_EXTENT_NO_NEXT)
		ret = ngfs_errno(nf, err, op, ino);
	ext2fs_extent_free(h);
	return ret;
}

struct blockmap_walk {
	struct ngfs *nf;
	struct claims *c;
	const char *why;
	int ret;
	unsigned int steps;
};

static int check_mapped_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
			      blk64_t ref_blk, int ref_offset, void *priv)
{
	struct blockmap_walk *w = priv;

	(void)fs;
	(void)blockcnt;
	(void)ref_blk;
	(void)ref_offset;
	if (++w->steps > VALIDATE_MAX_STEPS) {
		w->why = "maps more blocks than a file can";
		return BLOCK_ABORT;
	}
	if ((w->why = ngfs_bad_range(w->nf, *blocknr, 1)))
		return BLOCK_ABORT;
	if ((w->ret = claims_add(w->c, *blocknr, 1)))
		return BLOCK_ABORT;
	return 0;
}

/*
 * block_iterate reads the on-disk inode: the caller saves INODE first
 * when it has changed it.
 */
static int validate_blockmap(struct ngfs *nf, ext2_ino_t ino, const char *op,
			     struct claims *c)
{
	struct blockmap_walk w = { nf, c, NULL, 0, 0 };
	errcode_t err;

	err = ext2fs_block_iterate3(nf->fs, ino, BLOCK_FLAG_READ_ONLY, NULL,
				    check_mapped_block, &w);
	if (w.why)
		return bad(nf, ino, op, "block pointer", w.why);
	if (w.ret)
		return w.ret;
	return err ? ngfs_errno(nf, err, op, ino) : 0;
}

/*
 * Every block INODE maps and every block of its mapping structure: inside
 * the filesystem, off the fixed metadata, marked in use, and claimed once.
 */
int ngfs_validate_blocks(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			 const char *op)
{
	struct claims c = { NULL, 0, 0 };
	int ret;

	if ((ret = ngfs_need_bitmaps(nf)))	/* frees and allocates */
		return ret;

	if (ngfs_inode_inline(inode) ||
	    !ext2fs_inode_has_valid_blocks2(nf->fs, (struct ext2_inode *)inode))
		return 0;
	if (ngfs_inode_extents(inode))
		ret = validate_extents(nf, ino, inode, op, &c);
	else
		ret = validate_blockmap(nf, ino, op, &c);
	if (!ret && claims_overlap(&c))
		ret = bad(nf, ino, op, "block map", "claims a block twice");
	for (size_t i = 0; !ret && nf->shared_blocks && i < c.n; i++)
		if (ngfs_claims_shared(nf, c.r[i].start, c.r[i].len))
			ret = bad(nf, ino, op, "block map", "shares blocks with another inode");
	free(c.r);
	return ret;
}

/* The xattr block: a valid place, a readable block with a sane header. */
int ngfs_validate_xattr_block(struct ngfs *nf, ext2_ino_t ino,
			      struct ext2_inode_large *inode, const char *op)
{
	blk64_t blk = ext2fs_file_acl_block(nf->fs, (struct ext2_inode *)inode);
	struct ext2_ext_attr_header *hdr;
	const char *why;
	errcode_t err;
	char *buf;
	int ret = 0;

	if ((ret = ngfs_need_bitmaps(nf)))	/* frees and allocates */
		return ret;

	if (!blk)
		return 0;
	if ((why = ngfs_bad_range(nf, blk, 1)))
		return bad(nf, ino, op, "xattr block", why);
	if (ext2fs_get_mem(nf->fs->blocksize, &buf))
		return ENOMEM;
	err = ext2fs_read_ext_attr3(nf->fs, blk, buf, ino);
	hdr = (struct ext2_ext_attr_header *)buf;
	if (err)
		ret = ngfs_errno(nf, err, op, ino);
	else if (hdr->h_magic != EXT2_EXT_ATTR_MAGIC || hdr->h_blocks != 1)
		ret = bad(nf, ino, op, "xattr block", "has a bad header");
	else if (!hdr->h_refcount)
		ret = bad(nf, ino, op, "xattr block", "has a zero reference count");
	ext2fs_free_mem(&buf);
	return ret;
}

/* Everything freeing INO would touch; EUCLEAN (logged) if it is corrupt. */
int ngfs_validate_freeable(struct ngfs *nf, ext2_ino_t ino, const char *op)
{
	struct ext2_inode_large inode;
	int ret;

	if ((ret = ngfs_need_bitmaps(nf)))	/* frees and allocates */
		return ret;

	if (ngfs_claims_is_phantom_inode(nf, ino))
		return ngfs_corrupt(nf, op, ino, "inode in use marked free in the inode bitmap");
	if ((ret = ngfs_read_inode(nf, ino, &inode)))
		return ret;
	if ((ret = ngfs_validate_xattr_block(nf, ino, &inode, op)))
		return ret;
	return ngfs_validate_blocks(nf, ino, &inode, op);
}

/*
 * Keep the group's bookkeeping of initialised inodes right after INO was
 * allocated, feature or no feature (as the kernel's ext4 does): the inode
 * table up to INO is in use, so it is not "unused" and the group is not
 * uninitialised.  libext2fs does this only with group descriptor checksums.
 */
void ngfs_inode_group_fixup(struct ngfs *nf, ext2_ino_t ino)
{
	ext2_filsys fs = nf->fs;
	dgrp_t g = (ino - 1) / fs->super->s_inodes_per_group;
	__u32 index = (ino - 1) % fs->super->s_inodes_per_group;
	__u32 unused = ext2fs_bg_itable_unused(fs, g);

	if (ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT))
		ext2fs_bg_flags_clear(fs, g, EXT2_BG_INODE_UNINIT);
	if (!ext2fs_has_group_desc_csum(fs)) {
		/* Without the feature these fields must be zero (e2fsck: "marked
		 * uninitialized without feature set"); the kernel ignores them. */
		ext2fs_bg_flags_clear(fs, g, EXT2_BG_BLOCK_UNINIT);
		ext2fs_bg_itable_unused_set(fs, g, 0);
	} else if (unused && index + 1 > fs->super->s_inodes_per_group - unused) {
		ext2fs_bg_itable_unused_set(fs, g, fs->super->s_inodes_per_group - index - 1);
	}
	ext2fs_group_desc_csum_set(fs, g);
	ext2fs_mark_super_dirty(fs);
}

/*
 * A new inode, from the bitmap, checked against the inode table: an inode
 * in use (links, no dtime, a mode) that the bitmap calls free is a lying
 * bitmap.  That is recorded as corruption (errors= applies), the inode is
 * kept from allocation (in memory: claims.c), and another one is picked.
 */
int ngfs_new_inode(struct ngfs *nf, ext2_ino_t dir, mode_t mode, ext2_ino_t *out)
{
	struct ext2_inode_large inode;
	ext2_ino_t ino;
	errcode_t err;
	int tries, ret;

	if ((ret = ngfs_need_bitmaps(nf)))	/* frees and allocates */
		return ret;

	for (tries = 0; tries < 64; tries++) {
		err = ext2fs_new_inode(nf->fs, dir, mode, NULL, &ino);
		if (err)
			return ngfs_errno(nf, err, "new_inode", dir);
		if (ino < EXT2_FIRST_INODE(nf->fs->super)) {
			ret = ngfs_corrupt(nf, "new_inode", ino,
					   "reserved inode marked free in the inode bitmap");
		} else {
			ret = ngfs_read_inode(nf, ino, &inode);
			if (ret == EUCLEAN) {
				/* unreadable (checksum): not ours to overwrite */
			} else if (ret) {
				return ret;
			} else if (inode.i_links_count && !inode.i_dtime && inode.i_mode) {
				ret = ngfs_corrupt(nf, "new_inode", ino,
						   "inode in use marked free in the inode bitmap");
			} else {
				*out = ino;
				return 0;
			}
		}
		if (nf->readonly)
			return EROFS;	/* errors=remount-ro took effect */
		/* In use: never hand it out (in memory: claims.c), look further. */
		if ((ret = ngfs_claims_phantom_inode(nf, ino)))
			return ret;
	}
	return ENOSPC;
}
