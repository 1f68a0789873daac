/*
 * dirblock.c: directory entries edited one block at a time.
 *
 * ext2fs_link and ext2fs_unlink (Debian's libext2fs 1.47.0) walk a linear
 * directory from its first block on every call, so filling or emptying a
 * directory of n names costs O(n^2).  For the large directories dcache.c
 * maps, the map remembers which block holds each name, and new names go
 * into the directory's last block: each change reads and writes one block.
 * Written by hand: libext2fs has no call that edits a given block.  Hashed
 * (dir_index) directories are not appended to here (a name must go into
 * the leaf its hash selects: ext2fs_link does that); removing a name from
 * a leaf needs no index change, so removal works for both.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ngfs.h"

/* Where the entries of a block end: before the checksum tail, if any. */
static unsigned int entries_end(ext2_filsys fs)
{
	return fs->blocksize - (ext2fs_has_feature_metadata_csum(fs->super) ?
				sizeof(struct ext2_dir_entry_tail) : 0);
}

static int plain_dir(const struct ext2_inode_large *inode)
{
	return LINUX_S_ISDIR(inode->i_mode) && !(inode->i_flags & EXT4_INLINE_DATA_FL);
}

/* Read logical block LBLK of DIR into BUF; *PBLK = 0 for a hole. */
static errcode_t read_block(ext2_filsys fs, ext2_ino_t dir, struct ext2_inode_large *inode,
			    blk64_t lblk, blk64_t *pblk, char *buf)
{
	errcode_t err = ext2fs_bmap2(fs, dir, EXT2_INODE(inode), NULL, 0, lblk, NULL, pblk);

	if (err || !*pblk)
		return err;
	return ext2fs_read_dir_block4(fs, *pblk, buf, 0, dir);
}

/*
 * Check that a block's entries tile it exactly, so that the edits below
 * never step outside it; anything else is left to libext2fs, which reports it.
 */
static int block_sane(ext2_filsys fs, char *buf)
{
	unsigned int off = 0, end = entries_end(fs), len;
	struct ext2_dir_entry *de;

	while (off < end) {
		de = (struct ext2_dir_entry *)(buf + off);
		if (ext2fs_get_rec_len(fs, de, &len) || len < 8 || len % 4 ||
		    off + len > end || ext2fs_dirent_name_len(de) + 8u > len)
			return 0;
		off += len;
	}
	return off == end;
}

int ngfs_dirblock_walk(struct ngfs *nf, ext2_ino_t dir, ngfs_dirblock_fn fn, void *priv)
{
	ext2_filsys fs = nf->fs;
	struct ext2_inode_large inode;
	blk64_t lblk, nblocks, pblk;
	unsigned int off, len;
	struct ext2_dir_entry *de;
	char *buf;
	int ret;

	if ((ret = ngfs_read_inode(nf, dir, &inode)))
		return ret;
	if (!plain_dir(&inode))
		return EINVAL;
	if (ext2fs_get_mem(fs->blocksize, &buf))
		return ENOMEM;
	nblocks = EXT2_I_SIZE(&inode) / fs->blocksize;
	for (lblk = 0; lblk < nblocks && !ret; lblk++) {
		if (read_block(fs, dir, &inode, lblk, &pblk, buf)) {
			ret = EIO;
			break;
		}
		if (!pblk)
			continue;
		if (!block_sane(fs, buf)) {
			ret = EIO;
			break;
		}
		for (off = 0; off < entries_end(fs) && !ret; off += len) {
			de = (struct ext2_dir_entry *)(buf + off);
			ext2fs_get_rec_len(fs, de, &len);
			if (de->inode)
				ret = fn(de->name, ext2fs_dirent_name_len(de), de->inode, lblk, priv);
		}
	}
	ext2fs_free_mem(&buf);
	return ret;
}

errcode_t ngfs_dirblock_append(struct ngfs *nf, ext2_ino_t dir, const char *name,
			       ext2_ino_t ino, int type, blk64_t *lblk_out)
{
	ext2_filsys fs = nf->fs;
	struct ext2_inode_large inode;
	size_t namelen = strlen(name);
	unsigned int off, len, used, need = EXT2_DIR_REC_LEN(namelen);
	struct ext2_dir_entry *de, *nde;
	blk64_t lblk, pblk;
	errcode_t err;
	char *buf;

	if (ngfs_read_inode(nf, dir, &inode) || !plain_dir(&inode) ||
	    (inode.i_flags & EXT2_INDEX_FL) || EXT2_I_SIZE(&inode) < fs->blocksize)
		return NGFS_DIRBLOCK_PASS;
	lblk = EXT2_I_SIZE(&inode) / fs->blocksize - 1;
	if ((err = ext2fs_get_mem(fs->blocksize, &buf)))
		return err;
	err = read_block(fs, dir, &inode, lblk, &pblk, buf);
	if (!err && (!pblk || !block_sane(fs, buf)))
		err = NGFS_DIRBLOCK_PASS;
	for (off = 0; !err && off < entries_end(fs); off += len) {
		de = (struct ext2_dir_entry *)(buf + off);
		ext2fs_get_rec_len(fs, de, &len);
		used = de->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de)) : 0;
		if (len < used + need)
			continue;
		if (used) {	/* split: the new entry takes the slack after DE */
			nde = (struct ext2_dir_entry *)(buf + off + used);
			ext2fs_set_rec_len(fs, len - used, nde);
			ext2fs_set_rec_len(fs, used, de);
			de = nde;
		}
		de->inode = ino;
		ext2fs_dirent_set_name_len(de, namelen);
		ext2fs_dirent_set_file_type(de, type);
		memcpy(de->name, name, namelen);
		err = ext2fs_write_dir_block4(fs, pblk, buf, 0, dir);
		if (!err)
			*lblk_out = lblk;
		break;
	}
	if (!err && off >= entries_end(fs))
		err = EXT2_ET_DIR_NO_SPACE;
	ext2fs_free_mem(&buf);
	return err;
}

errcode_t ngfs_dirblock_remove(struct ngfs *nf, ext2_ino_t dir, blk64_t lblk,
			       const char *name, ext2_ino_t ino)
{
	ext2_filsys fs = nf->fs;
	struct ext2_inode_large inode;
	size_t namelen = strlen(name);
	struct ext2_dir_entry *de, *prev = NULL;
	unsigned int off, len, plen;
	blk64_t pblk;
	errcode_t err;
	char *buf;

	if (ngfs_read_inode(nf, dir, &inode) || !plain_dir(&inode) ||
	    lblk >= EXT2_I_SIZE(&inode) / fs->blocksize)
		return NGFS_DIRBLOCK_PASS;
	if ((err = ext2fs_get_mem(fs->blocksize, &buf)))
		return err;
	err = read_block(fs, dir, &inode, lblk, &pblk, buf);
	if (!err && (!pblk || !block_sane(fs, buf)))
		err = NGFS_DIRBLOCK_PASS;
	for (off = 0; !err && off < entries_end(fs); off += len, prev = de) {
		de = (struct ext2_dir_entry *)(buf + off);
		ext2fs_get_rec_len(fs, de, &len);
		if (de->inode != ino || (size_t)ext2fs_dirent_name_len(de) != namelen ||
		    memcmp(de->name, name, namelen))
			continue;
		if (prev) {	/* as ext2fs_unlink and ext4 do: the previous entry absorbs it */
			ext2fs_get_rec_len(fs, prev, &plen);
			ext2fs_set_rec_len(fs, plen + len, prev);
		} else {
			de->inode = 0;
		}
		err = ext2fs_write_dir_block4(fs, pblk, buf, 0, dir);
		break;
	}
	if (!err && off >= entries_end(fs))
		err = NGFS_DIRBLOCK_PASS;	/* not where the map said: libext2fs searches */
	ext2fs_free_mem(&buf);
	return err;
}
