/*
 * iomap.c: what a kernel that moves file data itself asks of the filesystem.
 *
 * Four verbs over one mapping type (struct ngfs_iomap), in the order the
 * kernel uses them:
 *
 *   geometry  once per mount: block size, limits, timestamp range
 *   begin     "where does [pos, pos+count) live?"; writes into holes
 *             allocate here (unwritten extents; zeroed blocks in block maps)
 *   end       a buffered write grew the file: persist the new size
 *   ioend     data reached the disk: unwritten -> written, size for appends
 *
 * The mapping never points outside the filesystem: fmap.c checks every
 * extent against the block count and reports corruption instead.
 */
#include <errno.h>
#include <string.h>

#include "core/ngfs.h"

/* A read or report mapping may run this far past the request (blocks). */
#define READ_AHEAD_BLOCKS (1ULL << 20)

/* Read the inode a request names; only regular files take data mappings. */
static int load(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		int report, const char *op)
{
	int err;

	if ((err = ngfs_check_alive(nf)))
		return err;
	if (!ngfs_valid_ino(nf, ino)) {
		ngfs_log("%s: iomap %s for inode %u, which does not exist", nf->device, op, ino);
		return ESTALE;
	}
	if (ino != EXT2_ROOT_INO && !ngfs_node_known(nf, ino)) {
		ngfs_log("%s: iomap %s for inode %u, which the kernel never looked up",
			 nf->device, op, ino);
		return ESTALE;
	}
	if ((err = ngfs_read_inode(nf, ino, inode)))
		return err;
	if (!LINUX_S_ISREG(inode->i_mode) && !(report && LINUX_S_ISDIR(inode->i_mode)))
		return LINUX_S_ISDIR(inode->i_mode) ? EISDIR : EINVAL;
	return 0;
}

static void set_from_map(struct ngfs *nf, const struct ngfs_map *map, struct ngfs_iomap *m)
{
	uint64_t bs = nf->fs->blocksize;

	m->offset = map->lblk * bs;
	m->length = map->len * bs;
	switch (map->type) {
	case NGFS_MAP_MAPPED:
		m->type = NGFS_IOMAP_MAPPED;
		break;
	case NGFS_MAP_UNWRITTEN:
		m->type = NGFS_IOMAP_UNWRITTEN;
		break;
	default:
		m->type = NGFS_IOMAP_HOLE;
		break;
	}
	m->addr = m->type == NGFS_IOMAP_HOLE ? 0 :
		  nf->opts.offset + map->pblk * bs;
}

/*
 * Allocate the hole MAP for a write: unwritten extents in extent files (the
 * data arrives later and IOEND converts), zeroed blocks in block-mapped
 * files (which have no unwritten state; the zeroes keep stale data from
 * showing if we crash before the kernel's write lands).
 */
static int alloc_hole(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
		      struct ngfs_map *map)
{
	uint64_t bs = nf->fs->blocksize;
	blk64_t grant = ngfs_space_grant(nf, map->len), lblk = map->lblk;
	int err;

	if (!grant)
		return ENOSPC;
	if ((err = ngfs_fmap_alloc(nf, ino, inode, lblk, grant, ngfs_inode_extents(inode))))
		return err;
	if ((err = ngfs_fmap_get(nf, ino, inode, lblk, grant, map)))
		return err;
	if (map->type == NGFS_MAP_HOLE || map->lblk != lblk)
		return ngfs_corrupt(nf, "iomap_begin", ino, "allocated blocks are not mapped");
	if (!ngfs_inode_extents(inode) &&
	    (err = fdio_zero(nf->fs->io, map->pblk * bs, map->len * bs)))
		return ngfs_errno(nf, err, "iomap_begin", ino);
	return 0;
}

int ngfs_iomap_begin(struct ngfs *nf, ext2_ino_t ino, uint64_t pos, uint64_t count,
		     unsigned int op, struct ngfs_iomap *m)
{
	struct ext2_inode_large inode;
	struct ngfs_map map;
	uint64_t bs = nf->fs->blocksize, end;
	blk64_t lblk, want;
	int write = op & NGFS_IOMAP_WRITE, err;

	memset(m, 0, sizeof(*m));
	if ((err = load(nf, ino, &inode, op & NGFS_IOMAP_REPORT, "begin")))
		return err;
	if (!count)
		return EINVAL;
	if (pos >= nf->max_file_size) {
		ngfs_debug(nf, "iomap_begin: inode %u: offset %llu past the maximum file size",
			   ino, (unsigned long long)pos);
		return EFBIG;
	}
	if (count > nf->max_file_size - pos)
		count = nf->max_file_size - pos;
	if (write) {
		if ((err = ngfs_check_writable(nf)))
			return err;
		if (inode.i_flags & EXT2_IMMUTABLE_FL)
			return EPERM;
	}

	if (ngfs_inode_inline(&inode)) {
		/*
		 * Inline bytes travel by FUSE_READ/WRITE; the mapping is block 0.
		 * Writeback and write faults cannot use an INLINE mapping (the
		 * kernel's iomap writeback refuses it): those move the file to
		 * blocks first, as a write past the inline area does.
		 */
		if (pos < bs && !(write && (op & NGFS_IOMAP_BLOCKS))) {
			m->offset = 0;
			m->length = bs;
			m->type = NGFS_IOMAP_INLINE;
			return 0;
		}
		if (!write) {
			m->offset = pos - pos % bs;
			m->length = bs;
			m->type = NGFS_IOMAP_HOLE;
			return 0;
		}
		if ((err = ngfs_inline_expand(nf, ino, &inode)))
			return err;
	}

	lblk = pos / bs;
	end = pos + count;
	want = (end + bs - 1) / bs - lblk;
	if (!write && want < READ_AHEAD_BLOCKS)
		want = READ_AHEAD_BLOCKS;
	if (want > (nf->max_file_size + bs - 1) / bs - lblk)
		want = (nf->max_file_size + bs - 1) / bs - lblk;
	if ((err = ngfs_fmap_get(nf, ino, &inode, lblk, want, &map)))
		return err;
	if (write && map.type == NGFS_MAP_HOLE && !(op & NGFS_IOMAP_ZERO_ONLY)) {
		if ((err = alloc_hole(nf, ino, &inode, &map)))
			return err;
		m->flags = NGFS_IOMAP_NEW;
	}
	/*
	 * The kernel writes there behind the journal: an image of those
	 * blocks in the running transaction (libext2fs zeroes a block it
	 * allocates) must not be checkpointed over its data later.
	 */
	if (write && map.type != NGFS_MAP_HOLE &&
	    (err = fdio_data_claim(nf->fs->io, map.pblk * bs, map.len * bs)))
		return ngfs_errno(nf, err, "iomap_begin", ino);
	set_from_map(nf, &map, m);
	return 0;
}

/* Short writes into block-mapped files: give back blocks past the size. */
static int trim_past_eof(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	uint64_t bs = nf->fs->blocksize, size = EXT2_I_SIZE(inode);

	if (ngfs_inode_extents(inode) || ngfs_inode_inline(inode))
		return 0;	/* unwritten blocks past EOF are valid in extent files */
	return ngfs_fmap_punch(nf, ino, inode, (size + bs - 1) / bs, ~0ULL);
}

int ngfs_iomap_end(struct ngfs *nf, ext2_ino_t ino, uint64_t pos, uint64_t count,
		   int64_t written, int size_changed)
{
	struct ext2_inode_large inode;
	int err;

	if ((err = load(nf, ino, &inode, 0, "end")))
		return err;
	if (written < 0 || (uint64_t)written > count || pos + written < pos)
		return EINVAL;
	if (size_changed && written > 0 && pos + written > EXT2_I_SIZE(&inode)) {
		if (pos + written > nf->max_file_size)
			return EFBIG;
		if ((err = ngfs_check_writable(nf)) ||
		    (err = ngfs_set_size(nf, &inode, pos + written)) ||
		    (err = ngfs_write_inode(nf, ino, &inode)))
			return err;
	}
	if ((uint64_t)written < count && !nf->readonly)
		return trim_past_eof(nf, ino, &inode);
	return 0;
}

/* Is every block of [lblk, lblk+len) allocated? */
static int range_allocated(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode,
			   blk64_t lblk, blk64_t len)
{
	struct ngfs_map map;
	blk64_t cur = lblk, end = lblk + len;
	int err;

	while (cur < end) {
		if ((err = ngfs_fmap_get(nf, ino, inode, cur, end - cur, &map)))
			return err;
		if (map.type == NGFS_MAP_HOLE || !map.len)
			return ENODATA;
		cur += map.len;
	}
	return 0;
}

int ngfs_iomap_ioend(struct ngfs *nf, ext2_ino_t ino, uint64_t pos, uint32_t written,
		     unsigned int flags, int io_error)
{
	struct ext2_inode_large inode;
	uint64_t bs = nf->fs->blocksize, end = pos + written;
	blk64_t lblk, len;
	int err;

	if (io_error) {
		ngfs_log("%s: inode %u: the kernel reports write error %d at offset %llu (+%u)",
			 nf->device, ino, io_error, (unsigned long long)pos, written);
		return io_error;
	}
	if ((err = load(nf, ino, &inode, 0, "ioend")))
		return err;
	if (flags & NGFS_IOEND_SHARED) {
		ngfs_log("%s: inode %u: out-of-place write completion, but ext4 never shares "
			 "blocks", nf->device, ino);
		return EINVAL;
	}
	if (!written || !(flags & (NGFS_IOEND_UNWRITTEN | NGFS_IOEND_APPEND)))
		return 0;
	if (end < pos || end > nf->max_file_size)
		return EFBIG;
	if ((err = ngfs_check_writable(nf)))
		return err;
	lblk = pos / bs;
	len = (end + bs - 1) / bs - lblk;
	if (!ngfs_inode_inline(&inode) && (err = range_allocated(nf, ino, &inode, lblk, len))) {
		if (err == ENODATA) {
			ngfs_log("%s: inode %u: write completion for offset %llu (+%u), which "
				 "was never allocated", nf->device, ino, (unsigned long long)pos,
				 written);
			return EINVAL;
		}
		return err;
	}
	if ((flags & NGFS_IOEND_UNWRITTEN) &&
	    (err = ngfs_fmap_mark_written(nf, ino, &inode, lblk, len)))
		return err;
	if ((flags & NGFS_IOEND_APPEND) && end > EXT2_I_SIZE(&inode)) {
		if ((err = ngfs_set_size(nf, &inode, end)) ||
		    (err = ngfs_write_inode(nf, ino, &inode)))
			return err;
	}
	return 0;
}

/*
 * The kernel has a mapping cache (and its lock) only for regular files it
 * instantiated with FUSE_ATTR_IOMAP_FILEIO, which every reply naming a
 * regular file carries; a notification for any other inode, or one the
 * kernel has forgotten, must not be sent.
 */
int ngfs_iomap_cached_file(struct ngfs *nf, ext2_ino_t ino)
{
	struct ext2_inode_large inode;

	return ngfs_valid_ino(nf, ino) && ngfs_node_known(nf, ino) &&
	       !ngfs_read_inode(nf, ino, &inode) && LINUX_S_ISREG(inode.i_mode);
}

/* ext4's timestamp range (fs/ext4/ext4.h): 34-bit seconds in large inodes. */
#define EXT4_TIME_MIN		(-2147483648LL)
#define EXT4_TIME_MAX_SMALL	2147483647LL
#define EXT4_TIME_MAX_EXTRA	(((1LL << 34) - 1) + EXT4_TIME_MIN)

void ngfs_iomap_geometry(struct ngfs *nf, struct ngfs_geometry *g)
{
	struct ext2_super_block *sb = nf->fs->super;
	int large = EXT2_INODE_SIZE(sb) > EXT2_GOOD_OLD_INODE_SIZE &&
		    sb->s_min_extra_isize >= 4;
	const char *label = (const char *)sb->s_volume_name;

	memset(g, 0, sizeof(*g));
	g->blocksize = nf->fs->blocksize;
	g->max_links = ext2fs_has_feature_dir_nlink(sb) ? 65000 : 32000;
	g->time_gran = large ? 1 : 1000000000;
	g->time_min = EXT4_TIME_MIN;
	g->time_max = large ? EXT4_TIME_MAX_EXTRA : EXT4_TIME_MAX_SMALL;
	g->max_bytes = nf->max_file_size;
	memcpy(g->uuid, sb->s_uuid, sizeof(g->uuid));
	if (label[0])
		strncpy(g->name, label, strnlen(label, sizeof(sb->s_volume_name)));
	else
		strcpy(g->name, "fuse2fs-ng");
}
