/*
 * namei.c: directory entries: lookup, listing, link, unlink, rename,
 * readlink.  Directories are walked with ext2fs_dir_iterate2, which knows
 * linear, hashed (dir_index) and inline directories alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>

#include "core/ngfs.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

#define LINK_MAX_EXT4 65000

static int file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return EXT2_FT_REG_FILE;
	case S_IFDIR: return EXT2_FT_DIR;
	case S_IFCHR: return EXT2_FT_CHRDEV;
	case S_IFBLK: return EXT2_FT_BLKDEV;
	case S_IFIFO: return EXT2_FT_FIFO;
	case S_IFSOCK: return EXT2_FT_SOCK;
	case S_IFLNK: return EXT2_FT_SYMLINK;
	}
	return EXT2_FT_UNKNOWN;
}

int ngfs_check_name(const char *name)
{
	size_t len = strlen(name);

	if (len > EXT2_NAME_LEN)
		return ENAMETOOLONG;
	return len ? 0 : ENOENT;
}

/*
 * What the kernel's VFS checks for ext4 (it cannot for FUSE: it does not
 * know our inode flags).  An append-only directory takes new names (create,
 * link, rename into it) but keeps every name it has: no unlink, no rename
 * out of, within or over it.  An immutable one changes not at all.  An
 * append-only or immutable inode keeps its names and gets no new ones.
 */
static int immutable(const struct ext2_inode_large *inode)
{
	return inode->i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL);
}

static int takes_no_names(const struct ext2_inode_large *dir)
{
	return dir->i_flags & EXT2_IMMUTABLE_FL;
}

/* Read a directory inode, failing with ENOTDIR for anything else. */
static int read_dir(struct ngfs *nf, ext2_ino_t dir, struct ext2_inode_large *inode)
{
	int err = ngfs_read_inode(nf, dir, inode);

	if (err)
		return err;
	if (!LINUX_S_ISDIR(inode->i_mode))
		return ENOTDIR;
	if (!inode->i_links_count)
		return ENOENT;	/* removed directory, still open */
	return 0;
}

struct list_ctx {
	ngfs_dir_fn fn;
	void *priv;
	int ret;
	int filetype;		/* the filesystem records entry types */
};

static int list_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent,
		   int offset, int blocksize, char *buf, void *priv)
{
	struct list_ctx *ctx = priv;
	int type = ext2fs_dirent_file_type(dirent);

	if (!dirent->inode)
		return 0;
	/* Inline directories have no real dot entries; libext2fs makes untyped ones. */
	if (!type && ctx->filetype && dirent->name[0] == '.' &&
	    (ext2fs_dirent_name_len(dirent) == 1 ||
	     (ext2fs_dirent_name_len(dirent) == 2 && dirent->name[1] == '.')))
		type = EXT2_FT_DIR;
	ctx->ret = ctx->fn(dirent->name, ext2fs_dirent_name_len(dirent), dirent->inode,
			   type, ctx->priv);
	return ctx->ret ? DIRENT_ABORT : 0;
}

int ngfs_dir_list(struct ngfs *nf, ext2_ino_t dir, ngfs_dir_fn fn, void *priv)
{
	struct ext2_inode_large inode;
	struct list_ctx ctx = { fn, priv, 0, ext2fs_has_feature_filetype(nf->fs->super) };
	errcode_t err;
	int ret = read_dir(nf, dir, &inode);

	if (ret)
		return ret;
	err = ext2fs_dir_iterate2(nf->fs, dir, 0, NULL,
				  list_cb, &ctx);
	if (err)
		return ngfs_errno(nf, err, "dir_iterate", dir);
	return ctx.ret > 0 ? ctx.ret : 0;
}

struct find_ctx {
	const char *name;
	size_t len;
	ext2_ino_t ino;
	/* for replace: */
	ext2_ino_t new_ino;
	int new_type;
	int replace;
};

static int find_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent,
		   int offset, int blocksize, char *buf, void *priv)
{
	struct find_ctx *ctx = priv;

	if (!dirent->inode || (size_t)ext2fs_dirent_name_len(dirent) != ctx->len ||
	    memcmp(dirent->name, ctx->name, ctx->len))
		return 0;
	ctx->ino = dirent->inode;
	if (!ctx->replace)
		return DIRENT_ABORT;
	dirent->inode = ctx->new_ino;
	ext2fs_dirent_set_file_type(dirent, ctx->new_type);
	return DIRENT_CHANGED | DIRENT_ABORT;
}

static int dir_find(struct ngfs *nf, ext2_ino_t dir, struct find_ctx *ctx)
{
	struct ext2_inode_large inode;
	errcode_t err;
	int ret = read_dir(nf, dir, &inode);

	if (ret)
		return ret;
	/* A replace must edit the block itself; a lookup may use the name map. */
	if (ctx->replace ||
	    !ngfs_dcache_lookup(nf, dir, EXT2_I_SIZE(&inode), ctx->name, &ctx->ino)) {
		err = ext2fs_dir_iterate2(nf->fs, dir, 0, NULL, find_cb, ctx);
		if (err)
			return ngfs_errno(nf, err, "dir_lookup", dir);
	}
	if (!ctx->ino)
		return ENOENT;
	if (!ngfs_valid_ino(nf, ctx->ino) && !ctx->replace)
		return ngfs_corrupt(nf, "lookup", dir, "directory entry points to an invalid inode");
	return 0;
}

int ngfs_lookup(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t *ino)
{
	struct find_ctx ctx = { .name = name, .len = strlen(name) };
	int err = ngfs_check_alive(nf);

	if (!err)
		err = ngfs_check_name(name);
	if (!err)
		err = dir_find(nf, dir, &ctx);
	if (err)
		return err;
	/*
	 * A name (other than the dot entries) for the directory itself or for
	 * the root would give the kernel a second path to a directory: it
	 * would mark the inode bad and fail everything below it with EIO.
	 */
	if ((ctx.ino == dir && strcmp(name, ".")) ||
	    (ctx.ino == EXT2_ROOT_INO && strcmp(name, "..") && strcmp(name, ".")))
		return ngfs_corrupt(nf, "lookup", dir, "directory entry links to the directory itself or to the root");
	*ino = ctx.ino;
	return 0;
}

/*
 * NAME in DIR named *INO a moment ago (a lookup, a readdir snapshot, the
 * name map): read the inode, making sure the name is still alive.  An
 * inode without links is either a name removed since (our own state moved
 * on: ENOENT, or the inode the name names now) or a directory entry for a
 * deleted inode on disk.  Only the directory as the disk has it tells
 * which, so it is read again, past the name map, before anything is called
 * corrupt.
 */
int ngfs_entry_live(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t *ino,
		    struct ext2_inode_large *inode)
{
	struct find_ctx ctx = { .name = name, .len = strlen(name) };
	int err = ngfs_read_inode(nf, *ino, inode);

	if (err || inode->i_links_count)
		return err;
	ngfs_dcache_drop(nf, dir);
	ext2fs_flush_icache(nf->fs);
	if ((err = dir_find(nf, dir, &ctx)))
		return err;
	if (ctx.ino != *ino) {
		*ino = ctx.ino;
		return ngfs_entry_live(nf, dir, name, ino, inode);
	}
	if ((err = ngfs_read_inode(nf, *ino, inode)))
		return err;
	if (!inode->i_links_count)
		return ngfs_corrupt(nf, "lookup", *ino, "directory entry names a deleted inode");
	return 0;
}

/* ngfs_lookup, and the inode it names, checked by ngfs_entry_live. */
int ngfs_lookup_live(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t *ino,
		     struct ext2_inode_large *inode)
{
	int err = ngfs_lookup(nf, dir, name, ino);

	return err ? err : ngfs_entry_live(nf, dir, name, ino, inode);
}

/* Point the existing entry NAME in DIR at a different inode. */
static int dir_replace(struct ngfs *nf, ext2_ino_t dir, const char *name,
		       ext2_ino_t ino, mode_t mode)
{
	struct find_ctx ctx = { .name = name, .len = strlen(name), .new_ino = ino,
				.new_type = file_type(mode), .replace = 1 };

	int err;

	if (!ext2fs_has_feature_filetype(nf->fs->super))
		ctx.new_type = 0;
	err = dir_find(nf, dir, &ctx);
	if (!err) {
		ngfs_dcache_set(nf, dir, name, ino);
		nf->entry_changes++;
	}
	return err;
}

int ngfs_dir_touch(struct ngfs *nf, ext2_ino_t dir)
{
	struct ext2_inode_large inode;
	int err = ngfs_read_inode(nf, dir, &inode);

	if (err)
		return err;
	ngfs_touch(nf, &inode, 1);
	err = ngfs_write_inode(nf, dir, &inode);
	if (!err && nf->opts.dirsync)
		err = ngfs_flush(nf, 1);
	return err;
}

static int adjust_links(struct ngfs *nf, ext2_ino_t ino, int delta)
{
	struct ext2_inode_large inode;
	int err = ngfs_read_inode(nf, ino, &inode);

	if (err)
		return err;
	if (delta > 0) {
		/* dir_nlink: past the limit a directory just says 1. */
		if (inode.i_links_count >= LINK_MAX_EXT4 || inode.i_links_count == 1)
			inode.i_links_count = ext2fs_has_feature_dir_nlink(nf->fs->super) ?
					      1 : inode.i_links_count;
		else
			inode.i_links_count++;
	} else if (inode.i_links_count > 2) {
		inode.i_links_count--;	/* 1 means "too many to count": stays */
	}
	return ngfs_write_inode(nf, ino, &inode);
}

/*
 * ADD puts one entry NAME -> INO into DIR (ext2fs_link, ext2fs_mkdir,
 * ext2fs_symlink); when DIR is full, grow it by a block and try again.
 */
int ngfs_dir_insert(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino,
		    ngfs_insert_fn add, void *arg, const char *op)
{
	errcode_t err;
	int tries;

	if (!ngfs_space_grant(nf, 1))
		return ENOSPC;
	for (tries = 0; tries < 3; tries++) {
		err = add(nf->fs, arg);
		if (err != EXT2_ET_DIR_NO_SPACE)
			break;
		err = ext2fs_expand_dir(nf->fs, dir);
		if (err)
			break;
	}
	nf->dirty = 1;
	if (err)
		return ngfs_errno(nf, err, op, dir);
	ngfs_dcache_hole_used(nf, dir, tries > 0);
	ngfs_dcache_set(nf, dir, name, ino);
	return 0;
}

struct link_args {
	ext2_ino_t dir, ino;
	const char *name;
	int type;
};

static errcode_t add_link(ext2_filsys fs, void *arg)
{
	struct link_args *a = arg;

	return ext2fs_link(fs, a->dir, a->name, a->ino, a->type);
}

int ngfs_dir_add(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino,
		 mode_t mode)
{
	struct link_args a = { dir, ino, name,
			       ext2fs_has_feature_filetype(nf->fs->super) ? file_type(mode) : 0 };
	errcode_t err = NGFS_DIRBLOCK_PASS;
	blk64_t lblk;

	/* Large directories: into the last block, or a new one (dirblock.c). */
	if (ngfs_dcache_appendable(nf, dir)) {
		if (!ngfs_space_grant(nf, 1))
			return ENOSPC;
		err = ngfs_dirblock_append(nf, dir, name, ino, a.type, &lblk);
		if (err == NGFS_DIRBLOCK_FULL) {
			nf->dirty = 1;
			if ((err = ext2fs_expand_dir(nf->fs, dir)))
				return ngfs_errno(nf, err, "link", dir);
			err = ngfs_dirblock_append(nf, dir, name, ino, a.type, &lblk);
		}
	}
	if (err == NGFS_DIRBLOCK_PASS || err == NGFS_DIRBLOCK_FULL)
		return ngfs_dir_insert(nf, dir, name, ino, add_link, &a, "link");
	nf->dirty = 1;
	if (err)
		return ngfs_errno(nf, err, "link", dir);
	ngfs_dcache_set_at(nf, dir, name, ino, lblk);
	return 0;
}

static int dir_is_empty_cb(const char *name, size_t len, ext2_ino_t ino, int type,
			   void *priv)
{
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	return ENOTEMPTY;
}

static int check_empty(struct ngfs *nf, ext2_ino_t dir)
{
	return ngfs_dir_list(nf, dir, dir_is_empty_cb, NULL);
}

static int remove_entry(struct ngfs *nf, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	errcode_t err = NGFS_DIRBLOCK_PASS;
	blk64_t lblk;

	if (ngfs_dcache_where(nf, dir, name, &lblk))
		err = ngfs_dirblock_remove(nf, dir, lblk, name, ino);
	if (err == NGFS_DIRBLOCK_PASS)
		err = ext2fs_unlink(nf->fs, dir, name, ino, 0);
	nf->dirty = 1;
	if (!err) {
		ngfs_dcache_remove(nf, dir, name);
		nf->entry_changes++;
	}
	return ngfs_errno(nf, err, "unlink", dir);
}

/* The caller removed a name of a directory: drop its links and its parent's. */
static int drop_dir(struct ngfs *nf, ext2_ino_t parent, ext2_ino_t ino,
		    struct ext2_inode_large *inode)
{
	int err = adjust_links(nf, parent, -1);

	if (err)
		return err;
	inode->i_links_count = 0;
	inode->i_size = 0;
	return ngfs_drop_link(nf, ino, inode);
}

int ngfs_unlink(struct ngfs *nf, ext2_ino_t dir, const char *name, int rmdir)
{
	struct ext2_inode_large dinode, inode;
	ext2_ino_t ino;
	int err;

	if ((err = ngfs_check_writable(nf)) || (err = ngfs_check_name(name)) ||
	    (err = read_dir(nf, dir, &dinode)) || (err = ngfs_lookup(nf, dir, name, &ino)) ||
	    (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (immutable(&dinode) || immutable(&inode))
		return EPERM;
	if (rmdir) {
		if (!LINUX_S_ISDIR(inode.i_mode))
			return ENOTDIR;
		if (ino == EXT2_ROOT_INO)
			return EBUSY;
		if ((err = check_empty(nf, ino)))
			return err;
	} else if (LINUX_S_ISDIR(inode.i_mode)) {
		return EISDIR;
	}
	/* Even with links left: a corrupt inode loses no name (validate.c). */
	if ((err = ngfs_check_freeable(nf, ino)))
		return err;
	if ((err = remove_entry(nf, dir, name, ino)))
		return err;
	if (rmdir) {
		err = drop_dir(nf, dir, ino, &inode);
	} else {
		if (inode.i_links_count)
			inode.i_links_count--;
		err = ngfs_drop_link(nf, ino, &inode);
	}
	return err ? err : ngfs_dir_touch(nf, dir);
}

int ngfs_link(struct ngfs *nf, ext2_ino_t ino, ext2_ino_t dir, const char *name)
{
	struct ext2_inode_large dinode, inode;
	ext2_ino_t existing;
	int err;

	if ((err = ngfs_check_writable(nf)) || (err = ngfs_check_name(name)) ||
	    (err = read_dir(nf, dir, &dinode)) || (err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (LINUX_S_ISDIR(inode.i_mode))
		return EPERM;
	if (takes_no_names(&dinode) || immutable(&inode))
		return EPERM;
	if (!inode.i_links_count && !ngfs_node_linkable(nf, ino))
		return ENOENT;
	if (inode.i_links_count >= LINK_MAX_EXT4)
		return EMLINK;
	err = ngfs_lookup(nf, dir, name, &existing);
	if (!err)
		return EEXIST;
	if (err != ENOENT)
		return err;
	if ((err = ngfs_dir_add(nf, dir, name, ino, inode.i_mode)))
		return err;
	/* An O_TMPFILE file's first name takes it off the orphan list. */
	if (!inode.i_links_count && (err = ngfs_node_linked(nf, ino)))
		return err;
	/* re-read: the link may have moved things (inline directory expansion) */
	if ((err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (!inode.i_links_count)
		inode.i_dtime = 0;	/* was the orphan chain */
	inode.i_links_count++;
	ngfs_touch(nf, &inode, 0);
	if ((err = ngfs_write_inode(nf, ino, &inode)))
		return err;
	return ngfs_dir_touch(nf, dir);
}

static int set_dotdot(struct ngfs *nf, ext2_ino_t dir, ext2_ino_t parent)
{
	return dir_replace(nf, dir, "..", parent, S_IFDIR);
}

/* Is ANCESTOR on the path from DIR up to the root? */
static int is_ancestor(struct ngfs *nf, ext2_ino_t ancestor, ext2_ino_t dir)
{
	int depth;

	for (depth = 0; depth < 65536; depth++) {
		ext2_ino_t up;
		if (dir == ancestor)
			return 1;
		if (dir == EXT2_ROOT_INO)
			return 0;
		if (ngfs_lookup(nf, dir, "..", &up))
			return 0;
		dir = up;
	}
	return 1;	/* a loop in the tree: treat as "inside" */
}

static int rename_exchange(struct ngfs *nf, ext2_ino_t sdir, const char *sname,
			   ext2_ino_t sino, struct ext2_inode_large *sinode,
			   ext2_ino_t ddir, const char *dname, ext2_ino_t dino,
			   struct ext2_inode_large *dinode)
{
	int sisdir = LINUX_S_ISDIR(sinode->i_mode), disdir = LINUX_S_ISDIR(dinode->i_mode);
	int err;

	if (sdir != ddir && ((sisdir && is_ancestor(nf, sino, ddir)) ||
			     (disdir && is_ancestor(nf, dino, sdir))))
		return EINVAL;
	if ((err = dir_replace(nf, sdir, sname, dino, dinode->i_mode)) ||
	    (err = dir_replace(nf, ddir, dname, sino, sinode->i_mode)))
		return err;
	if (sdir != ddir) {
		if (sisdir && (err = set_dotdot(nf, sino, ddir)))
			return err;
		if (disdir && (err = set_dotdot(nf, dino, sdir)))
			return err;
		if (sisdir && !disdir &&
		    ((err = adjust_links(nf, sdir, -1)) || (err = adjust_links(nf, ddir, 1))))
			return err;
		if (disdir && !sisdir &&
		    ((err = adjust_links(nf, ddir, -1)) || (err = adjust_links(nf, sdir, 1))))
			return err;
	}
	if ((err = ngfs_read_inode(nf, sino, sinode)))
		return err;
	ngfs_touch(nf, sinode, 0);
	if ((err = ngfs_write_inode(nf, sino, sinode)) ||
	    (err = ngfs_read_inode(nf, dino, dinode)))
		return err;
	ngfs_touch(nf, dinode, 0);
	if ((err = ngfs_write_inode(nf, dino, dinode)) || (err = ngfs_dir_touch(nf, sdir)))
		return err;
	return sdir == ddir ? 0 : ngfs_dir_touch(nf, ddir);
}

/* A whiteout made for a rename that then failed: nothing names it. */
static void discard_whiteout(struct ngfs *nf, ext2_ino_t ino)
{
	struct ext2_inode_large inode;

	if (ino && !ngfs_read_inode(nf, ino, &inode)) {
		inode.i_links_count = 0;
		ngfs_drop_link(nf, ino, &inode);
	}
}

static int rename_move(struct ngfs *nf, ext2_ino_t sdir, const char *sname,
		       ext2_ino_t sino, struct ext2_inode_large *sinode,
		       ext2_ino_t ddir, const char *dname, ext2_ino_t dino,
		       struct ext2_inode_large *dinode, ext2_ino_t *whiteout);

/*
 * RENAME_WHITEOUT (overlayfs): the source name is left pointing at a
 * whiteout, a new 0/0 character device, instead of being removed.  Like
 * kernel ext4, the whiteout is made before anything changes, so running
 * out of inodes fails the rename as a whole.
 */
int ngfs_rename(struct ngfs *nf, ext2_ino_t sdir, const char *sname,
		ext2_ino_t ddir, const char *dname, unsigned int flags,
		const struct ngfs_creds *cr)
{
	struct ext2_inode_large sdinode, ddinode, sinode, dinode;
	ext2_ino_t sino, dino = 0, whiteout = 0;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return EINVAL;
	if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))
		return EINVAL;
	if ((err = ngfs_check_writable(nf)) || (err = ngfs_check_name(sname)) ||
	    (err = ngfs_check_name(dname)) || (err = read_dir(nf, sdir, &sdinode)) ||
	    (err = read_dir(nf, ddir, &ddinode)) ||
	    (err = ngfs_lookup(nf, sdir, sname, &sino)) ||
	    (err = ngfs_read_inode(nf, sino, &sinode)))
		return err;
	err = ngfs_lookup(nf, ddir, dname, &dino);
	if (err && err != ENOENT)
		return err;
	if (!err && (err = ngfs_read_inode(nf, dino, &dinode)))
		return err;
	if ((flags & RENAME_EXCHANGE) && !dino)
		return ENOENT;
	if ((flags & RENAME_NOREPLACE) && dino)
		return EEXIST;
	/* A name leaves the source directory, and the one replaced leaves DDIR. */
	if (immutable(&sdinode) || immutable(&sinode) || takes_no_names(&ddinode) ||
	    (dino && (immutable(&ddinode) || immutable(&dinode))))
		return EPERM;
	if (sino == dino)
		return 0;
	if (flags & RENAME_EXCHANGE)
		return rename_exchange(nf, sdir, sname, sino, &sinode, ddir, dname, dino,
				       &dinode);
	if (LINUX_S_ISDIR(sinode.i_mode) && sdir != ddir && is_ancestor(nf, sino, ddir))
		return EINVAL;
	if (dino && LINUX_S_ISDIR(dinode.i_mode) && !LINUX_S_ISDIR(sinode.i_mode))
		return EISDIR;
	if (dino && !LINUX_S_ISDIR(dinode.i_mode) && LINUX_S_ISDIR(sinode.i_mode))
		return ENOTDIR;
	if ((flags & RENAME_WHITEOUT) &&
	    (err = ngfs_create_unnamed(nf, sdir, NGFS_WHITEOUT, 0, cr, &whiteout)))
		return err;
	err = rename_move(nf, sdir, sname, sino, &sinode, ddir, dname, dino, &dinode,
			  &whiteout);
	if (err)
		discard_whiteout(nf, whiteout);	/* if it was not put in place */
	return err;
}

/*
 * Plain rename: SNAME goes to DNAME (replacing DINO if there is one); with
 * a *WHITEOUT, SNAME then names it (and *WHITEOUT becomes 0).
 */
static int rename_move(struct ngfs *nf, ext2_ino_t sdir, const char *sname,
		       ext2_ino_t sino, struct ext2_inode_large *sinode_in,
		       ext2_ino_t ddir, const char *dname, ext2_ino_t dino,
		       struct ext2_inode_large *dinode_in, ext2_ino_t *whiteout)
{
	struct ext2_inode_large sinode = *sinode_in, dinode;
	int sisdir = LINUX_S_ISDIR(sinode.i_mode), err;

	if (dino)
		dinode = *dinode_in;
	else
		memset(&dinode, 0, sizeof(dinode));
	if (dino) {
		if (sisdir && (err = check_empty(nf, dino)))
			return err;
		if ((err = ngfs_check_freeable(nf, dino)))	/* any link count: validate.c */
			return err;
		if ((err = dir_replace(nf, ddir, dname, sino, sinode.i_mode)))
			return err;
		if (LINUX_S_ISDIR(dinode.i_mode)) {
			err = drop_dir(nf, ddir, dino, &dinode);
		} else {
			dinode.i_links_count--;
			err = ngfs_drop_link(nf, dino, &dinode);
		}
		if (err)
			return err;
	} else if ((err = ngfs_dir_add(nf, ddir, dname, sino, sinode.i_mode))) {
		return err;
	}
	if (*whiteout) {
		if ((err = dir_replace(nf, sdir, sname, *whiteout, LINUX_S_IFCHR)))
			return err;
		*whiteout = 0;
	} else if ((err = remove_entry(nf, sdir, sname, sino))) {
		return err;
	}
	if (sisdir && sdir != ddir) {
		if ((err = set_dotdot(nf, sino, ddir)) || (err = adjust_links(nf, sdir, -1)) ||
		    (err = adjust_links(nf, ddir, 1)))
			return err;
	}
	if ((err = ngfs_read_inode(nf, sino, &sinode)))
		return err;
	ngfs_touch(nf, &sinode, 0);
	if ((err = ngfs_write_inode(nf, sino, &sinode)) || (err = ngfs_dir_touch(nf, sdir)))
		return err;
	return sdir == ddir ? 0 : ngfs_dir_touch(nf, ddir);
}

int ngfs_readlink(struct ngfs *nf, ext2_ino_t ino, char *buf, size_t len)
{
	struct ext2_inode_large inode;
	uint64_t size;
	errcode_t err;
	int ret;

	if ((ret = ngfs_check_alive(nf)) || (ret = ngfs_read_inode(nf, ino, &inode)))
		return ret;
	if (!LINUX_S_ISLNK(inode.i_mode))
		return EINVAL;
	size = EXT2_I_SIZE(&inode);
	if (size >= len || size > nf->fs->blocksize)
		return ngfs_corrupt(nf, "readlink", ino, "symlink too long");
	if (ext2fs_is_fast_symlink((struct ext2_inode *)&inode)) {
		if (size >= sizeof(inode.i_block))
			return ngfs_corrupt(nf, "readlink", ino, "fast symlink too long");
		memcpy(buf, inode.i_block, size);
	} else {
		ext2_file_t file;
		unsigned int got = 0;

		err = ext2fs_file_open2(nf->fs, ino, (struct ext2_inode *)&inode, 0, &file);
		if (!err) {
			err = ext2fs_file_read(file, buf, size, &got);
			ext2fs_file_close(file);
		}
		if (err)
			return ngfs_errno(nf, err, "readlink", ino);
		if (got != size)
			return ngfs_corrupt(nf, "readlink", ino, "short symlink");
	}
	buf[size] = 0;
	if (strlen(buf) != size)
		return ngfs_corrupt(nf, "readlink", ino, "NUL byte in symlink");
	return 0;
}
