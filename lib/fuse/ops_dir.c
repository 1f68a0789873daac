/*
 * ops_dir.c: reading directories.
 *
 * An open directory serves entries from a snapshot taken when reading
 * starts at offset 0 (opendir, rewinddir).  An entry's offset is its index
 * in the snapshot, so telldir/seekdir positions stay valid and no entry is
 * returned twice or skipped while the directory changes underneath — a
 * hashed directory may move entries between blocks when it grows, so
 * on-disk positions would not give that guarantee.
 *
 * The snapshot stays honest: once a name has been removed or repointed
 * anywhere since it was taken, each entry is looked up again before it is
 * served; a name gone since is skipped (POSIX lets a listing omit names
 * removed after opendir), never handed to the kernel with an inode that is
 * no longer its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "fuse/front.h"

static void snapshot_free(struct front_dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	d->ents = NULL;
	d->n = d->cap = 0;
}

static int snapshot_add(const char *name, size_t len, ext2_ino_t ino, int type, void *priv)
{
	struct front_dir *d = priv;

	if (ng_array_room(&d->ents, &d->cap, d->n, sizeof(*d->ents), 64))
		return ENOMEM;
	d->ents[d->n].name = strndup(name, len);
	if (!d->ents[d->n].name)
		return ENOMEM;
	d->ents[d->n].ino = ino;
	d->ents[d->n].type = type;
	d->n++;
	return 0;
}

static int snapshot_take(struct front *f, struct front_dir *d)
{
	snapshot_free(d);
	d->entry_changes = f->nf.entry_changes;
	return ngfs_dir_list(&f->nf, d->ino, snapshot_add, d);
}

static int ext2_type(const struct ext2_inode_large *inode)
{
	switch (inode->i_mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG: return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR: return EXT2_FT_DIR;
	case LINUX_S_IFCHR: return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK: return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO: return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK: return EXT2_FT_SOCK;
	case LINUX_S_IFLNK: return EXT2_FT_SYMLINK;
	}
	return EXT2_FT_UNKNOWN;
}

/*
 * Is snapshot entry DE still a name of the directory?  0: yes (DE updated
 * if the name now names another inode), ENOENT: gone, skip it; another
 * error: serve the name as the snapshot has it, without attributes.
 */
static int entry_recheck(struct front *f, struct front_dir *d, struct front_dirent *de,
			 struct ext2_inode_large *inode)
{
	ext2_ino_t ino = de->ino;
	int err;

	if (d->entry_changes != f->nf.entry_changes &&
	    (err = ngfs_lookup(&f->nf, d->ino, de->name, &ino)))
		return err;
	if ((err = ngfs_entry_live(&f->nf, d->ino, de->name, &ino, inode)))
		return err;
	if (ino != de->ino) {
		de->ino = ino;
		de->type = ext2_type(inode);
	}
	return 0;
}

void front_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	struct front_dir *d = calloc(1, sizeof(*d));
	int err = d ? 0 : ENOMEM;

	front_lock(req);
	if (!err)
		err = front_access(req, ino_of(ino), R_OK);
	if (!err) {
		d->ino = ino_of(ino);
		err = snapshot_take(f, d);
	}
	if (!err)
		ngfs_node_open(&f->nf, d->ino);
	ngfs_unlock(&f->nf);
	if (err) {
		if (d)
			snapshot_free(d);
		free(d);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

static mode_t type_mode(int type)
{
	static const mode_t modes[] = {
		[EXT2_FT_REG_FILE] = S_IFREG, [EXT2_FT_DIR] = S_IFDIR,
		[EXT2_FT_CHRDEV] = S_IFCHR,   [EXT2_FT_BLKDEV] = S_IFBLK,
		[EXT2_FT_FIFO] = S_IFIFO,     [EXT2_FT_SOCK] = S_IFSOCK,
		[EXT2_FT_SYMLINK] = S_IFLNK,
	};
	return type > 0 && type < (int)(sizeof(modes) / sizeof(modes[0])) ? modes[type] : 0;
}

static int is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi,
		       int plus)
{
	struct front *f = front_of(req);
	struct front_dir *d = (struct front_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t pos = 0, i;
	int err = buf ? 0 : ENOMEM;

	front_lock(req);
	if (!err)
		err = ngfs_check_alive(&f->nf);
	if (!err && off == 0)
		err = snapshot_take(f, d);
	if (!err)
		ngfs_dir_accessed(&f->nf, d->ino);	/* every getdents, as iterate_dir */
	for (i = off; !err && i < d->n; i++) {
		struct front_dirent *de = &d->ents[i];
		struct ext2_inode_large inode;
		size_t need;
		int gone = 0;

		if (plus) {
			struct fuse_entry_param e = { 0 };
			e.attr.st_ino = de->ino;
			e.attr.st_mode = type_mode(de->type);
			/* Ask for the size first: a lookup count is taken only if it fits. */
			need = fuse_add_direntry_plus(req, NULL, 0, de->name, &e, i + 1);
			if (pos + need > size)
				break;
			if (!is_dot(de->name)) {
				int rc = entry_recheck(f, d, de, &inode);
				if (rc == ENOENT)
					continue;
				if (rc || front_entry(f, de->ino, &e))
					memset(&e, 0, sizeof(e));	/* name only, no attributes */
			}
			e.attr.st_ino = de->ino;
			if (!e.attr.st_mode)
				e.attr.st_mode = type_mode(de->type);
			fuse_add_direntry_plus(req, buf + pos, size - pos, de->name, &e, i + 1);
		} else {
			struct stat st;
			if (d->entry_changes != f->nf.entry_changes && !is_dot(de->name))
				gone = entry_recheck(f, d, de, &inode) == ENOENT;
			if (gone)
				continue;
			memset(&st, 0, sizeof(st));
			st.st_ino = de->ino;
			st.st_mode = type_mode(de->type);
			need = fuse_add_direntry(req, NULL, 0, de->name, &st, i + 1);
			if (pos + need > size)
				break;
			fuse_add_direntry(req, buf + pos, size - pos, de->name, &st, i + 1);
		}
		pos += need;
	}
	ngfs_unlock(&f->nf);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, pos);
	free(buf);
}

void front_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	do_readdir(req, size, off, fi, 0);
}

void front_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	do_readdir(req, size, off, fi, 1);
}

void front_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct front *f = front_of(req);
	struct front_dir *d = (struct front_dir *)(uintptr_t)fi->fh;

	front_lock(req);
	ngfs_node_release(&f->nf, d->ino);
	ngfs_unlock(&f->nf);
	snapshot_free(d);
	free(d);
	fuse_reply_err(req, 0);
}

void front_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi)
{
	front_op_fsync(req, ino, datasync, fi);
}
