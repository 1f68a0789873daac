/*
 * errors.c: the one place where libext2fs error codes become errno values,
 * and where detected corruption is logged and the errors= policy applied.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <syslog.h>
#include <unistd.h>
#include <et/com_err.h>

#include "core/ngfs.h"

static int log_syslog;

/* Once the daemon has detached from the terminal, messages go to syslog. */
void ngfs_log_to_syslog(void)
{
	log_syslog = 1;
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	if (log_syslog) {
		vsyslog(LOG_ERR, fmt, ap);
		return;
	}
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ngfs_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fuse2fs: ", fmt, ap);
	va_end(ap);
}

void ngfs_debug(struct ngfs *nf, const char *fmt, ...)
{
	va_list ap;

	if (!nf->opts.debug)
		return;
	va_start(ap, fmt);
	vlog("fuse2fs debug: ", fmt, ap);
	va_end(ap);
}

/* Codes that mean the on-disk metadata is inconsistent. */
static int is_corruption(errcode_t err)
{
	switch (err) {
	case EXT2_ET_DIR_CORRUPTED:
	case EXT2_ET_DIR_CSUM_INVALID:
	case EXT2_ET_BAD_BLOCK_NUM:
	case EXT2_ET_BAD_INODE_NUM:
	case EXT2_ET_BAD_IND_BLOCK:
	case EXT2_ET_BAD_DIND_BLOCK:
	case EXT2_ET_BAD_TIND_BLOCK:
	case EXT2_ET_EXTENT_HEADER_BAD:
	case EXT2_ET_EXTENT_INDEX_BAD:
	case EXT2_ET_EXTENT_LEAF_BAD:
	case EXT2_ET_EXTENT_CSUM_INVALID:
	case EXT2_ET_EXTENT_CYCLE:
	case EXT2_ET_EXTENT_INVALID_LENGTH:
	case EXT2_ET_INODE_CSUM_INVALID:
	case EXT2_ET_INODE_CORRUPTED:
	case EXT2_ET_INODE_IS_GARBAGE:
	case EXT2_ET_EXT_ATTR_CSUM_INVALID:
	case EXT2_ET_BAD_EA_HEADER:
	case EXT2_ET_BAD_EA_BLOCK_NUM:
	case EXT2_ET_BAD_EA_HASH:
	case EXT2_ET_EA_BAD_NAME_LEN:
	case EXT2_ET_EA_BAD_VALUE_SIZE:
	case EXT2_ET_EA_BAD_VALUE_OFFSET:
	case EXT2_ET_EA_INODE_CORRUPTED:
	case EXT2_ET_BLOCK_BITMAP_CSUM_INVALID:
	case EXT2_ET_INODE_BITMAP_CSUM_INVALID:
	case EXT2_ET_FILESYSTEM_CORRUPTED:
	case EXT2_ET_CORRUPT_SUPERBLOCK:
	case EXT2_ET_MISSING_INODE_TABLE:
	case EXT2_ET_RESIZE_INODE_CORRUPT:
	case EXT2_ET_NO_INLINE_DATA:
	case EXT2_ET_INLINE_DATA_NO_BLOCK:
	case EXT2_ET_DIRHASH_UNSUPP:
	case EXT2_ET_SYMLINK_LOOP:
		return 1;
	}
	return 0;
}

/*
 * Record the error like the kernel does (s_state, s_error_count,
 * s_first/last_error_*) and apply errors=.
 */
int ngfs_corrupt(struct ngfs *nf, const char *op, ext2_ino_t ino, const char *what)
{
	struct ext2_super_block *sb = nf->fs->super;
	time_t now = time(NULL);

	ngfs_log("%s: corrupted metadata: inode %u: %s: %s", nf->device, ino, op, what);
	/*
	 * libext2fs 1.47.0 reads an inode into an inode-cache slot before
	 * verifying its checksum and, on a mismatch, leaves the slot labelled
	 * with the inode it held before: the next read of that inode returns
	 * the corrupt one's bytes (seen: the root read back as a regular
	 * file).  Drop the cache after every corruption report.
	 */
	ext2fs_flush_icache(nf->fs);
	if (!nf->readonly) {
		sb->s_state |= EXT2_ERROR_FS;
		sb->s_error_count++;
		if (!sb->s_first_error_time) {
			sb->s_first_error_time = now;
			sb->s_first_error_ino = ino;
			snprintf((char *)sb->s_first_error_func,
				 sizeof(sb->s_first_error_func), "%s", op);
		}
		sb->s_last_error_time = now;
		sb->s_last_error_ino = ino;
		snprintf((char *)sb->s_last_error_func, sizeof(sb->s_last_error_func),
			 "%s", op);
		ext2fs_mark_super_dirty(nf->fs);
		nf->dirty = 1;
	}
	switch (nf->opts.errors) {
	case NGFS_ERRORS_PANIC:
		ngfs_log("%s: errors=panic: stopping the filesystem now", nf->device);
		_exit(5);
	case NGFS_ERRORS_REMOUNT_RO:
		if (!nf->readonly) {
			ngfs_flush(nf, 1);
			ngfs_log("%s: errors=remount-ro: filesystem is now read-only",
				 nf->device);
			nf->readonly = 1;
			nf->ro_reason = "corruption detected (errors=remount-ro)";
		}
		break;
	default:
		break;
	}
	return EUCLEAN;
}

int ngfs_errno(struct ngfs *nf, errcode_t err, const char *op, ext2_ino_t ino)
{
	if (!err)
		return 0;
	if (err > 0 && err < 4096)	/* libext2fs passes system errors through */
		return (int)err;
	if (is_corruption(err))
		return ngfs_corrupt(nf, op, ino, error_message(err));
	switch (err) {
	case EXT2_ET_NO_MEMORY:
		return ENOMEM;
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_TOOSMALL:
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_INLINE_DATA_NO_SPACE:
	case EXT2_ET_EXTENT_NO_SPACE:
	case EXT2_ET_DIR_NO_SPACE_FOR_CSUM:
	case EXT2_ET_RES_GDT_BLOCKS:
		return ENOSPC;
	case EXT2_ET_RO_FILSYS:
	case EXT2_ET_FILE_RO:
		return EROFS;
	case EXT2_ET_FILE_NOT_FOUND:
		return ENOENT;
	case EXT2_ET_DIR_EXISTS:
	case EXT2_ET_FILE_EXISTS:
		return EEXIST;
	case EXT2_ET_NO_DIRECTORY:
		return ENOTDIR;
	case EXT2_ET_FILE_TOO_BIG:
		return EFBIG;
	case EXT2_ET_EA_KEY_NOT_FOUND:
		return ENODATA;
	case EXT2_ET_TOO_MANY_REFS:
		return EMLINK;
	case EXT2_ET_UNIMPLEMENTED:
	case EXT2_ET_OP_NOT_SUPPORTED:
	case EXT2_ET_EXTENT_NOT_SUPPORTED:
	case EXT2_ET_INODE_NOT_EXTENT:
	case EXT2_ET_MISSING_EA_FEATURE:
		return EOPNOTSUPP;
	case EXT2_ET_INVALID_ARGUMENT:
		return EINVAL;
	case EXT2_ET_MMP_FAILED:
	case EXT2_ET_MMP_FSCK_ON:
		return EBUSY;
	case EXT2_ET_SHORT_READ:
	case EXT2_ET_SHORT_WRITE:
	case EXT2_ET_LLSEEK_FAILED:
	case EXT2_ET_GDESC_READ:
	case EXT2_ET_GDESC_WRITE:
	case EXT2_ET_INODE_TABLE_READ:
	case EXT2_ET_INODE_TABLE_WRITE:
	case EXT2_ET_BLOCK_BITMAP_READ:
	case EXT2_ET_BLOCK_BITMAP_WRITE:
	case EXT2_ET_INODE_BITMAP_READ:
	case EXT2_ET_INODE_BITMAP_WRITE:
		ngfs_log("%s: I/O error: inode %u: %s: %s", nf->device, ino, op,
			 error_message(err));
		return EIO;
	}
	ngfs_log("%s: inode %u: %s: %s", nf->device, ino, op, error_message(err));
	return EIO;
}

int ngfs_check_alive(struct ngfs *nf)
{
	return nf->shutdown ? EIO : 0;
}

int ngfs_check_writable(struct ngfs *nf)
{
	if (nf->shutdown)
		return EIO;
	if (nf->readonly)
		return EROFS;
	return ngfs_need_bitmaps(nf);	/* every change may allocate or free */
}
