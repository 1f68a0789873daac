/*
 * ops_export.c: decoding file handles (open_by_handle_at, NFS export).
 *
 * The kernel's FUSE file handle is (node id, generation), and our node id
 * is the inode number, which means the same thing to every daemon that
 * ever serves the filesystem.  So a handle stays valid across a remount, and
 * after the kernel has forgotten the inode, provided that we negotiate
 * FUSE_EXPORT_SUPPORT (ops_fs.c) and answer what the kernel then asks:
 *
 *   LOOKUP "."  in node N   "give me N itself" (N may be of any type); an
 *                           inode that is free or has no links now is
 *                           ENOENT, which the kernel turns into ESTALE
 *   LOOKUP ".." in dir N    N's parent (reconnecting a directory handle)
 *
 * The generation in entry replies (random for every new inode, as kernel
 * ext4 makes it) lets the kernel refuse a handle whose inode number was
 * freed and reused (ESTALE).
 */
#include <errno.h>
#include <string.h>

#include "fuse/front.h"

/* Node N, if it is an inode in use. */
static int dot_entry(struct front *f, fuse_ino_t nodeid, struct fuse_entry_param *e)
{
	struct ngfs *nf = &f->nf;
	ext2_ino_t ino = ino_of(nodeid);
	struct ext2_inode_large inode;
	int err;

	if ((err = ngfs_check_alive(nf)))
		return err;
	/* Handles come from the kernel, but open_by_handle_at takes any bytes:
	   an impossible number is a stale handle, never corruption. */
	if (!ngfs_valid_ino(nf, ino) || (ino == EXT2_ROOT_INO && nodeid != FUSE_ROOT_ID))
		return ENOENT;
	if (nf->fs->inode_map && !ext2fs_test_inode_bitmap2(nf->fs->inode_map, ino))
		return ENOENT;
	if ((err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	if (!inode.i_links_count || !inode.i_mode)
		return ENOENT;
	return front_entry(f, ino, e);
}

/* LOOKUP of "." or ".." (FUSE_EXPORT_SUPPORT). */
void front_op_lookup_dot(fuse_req_t req, fuse_ino_t nodeid, const char *name)
{
	struct front *f = front_of(req);
	struct fuse_entry_param e;
	ext2_ino_t parent;
	int err;

	front_lock(req);
	if (!strcmp(name, "."))
		err = dot_entry(f, nodeid, &e);
	else if (!(err = ngfs_lookup(&f->nf, ino_of(nodeid), "..", &parent)))
		err = front_entry(f, parent, &e);
	ngfs_unlock(&f->nf);
	front_reply_entry(req, err, &e);
}
