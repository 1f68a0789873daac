/*
 * mount.c: opening the filesystem, deciding what we can safely serve,
 * flushing it, closing it, and statfs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <e2p/e2p.h>
#include <et/com_err.h>

#include "core/ngfs.h"
#include "journal/journal.h"

#ifndef EXT4_FEATURE_INCOMPAT_CASEFOLD
#define EXT4_FEATURE_INCOMPAT_CASEFOLD 0x20000
#endif
#ifndef EXT4_FEATURE_RO_COMPAT_VERITY
#define EXT4_FEATURE_RO_COMPAT_VERITY 0x8000
#endif
#ifndef EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT
#define EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT 0x10000
#endif

/* Incompat features we cannot even read correctly: the mount is refused. */
#define REFUSE_INCOMPAT (EXT4_FEATURE_INCOMPAT_ENCRYPT | EXT4_FEATURE_INCOMPAT_CASEFOLD | \
			 EXT3_FEATURE_INCOMPAT_JOURNAL_DEV)
/* Features we can read but not keep consistent when writing: read-only. */
#define RO_INCOMPAT (EXT3_FEATURE_INCOMPAT_RECOVER | EXT4_FEATURE_INCOMPAT_MMP | \
		     EXT4_FEATURE_INCOMPAT_EA_INODE)
#define RO_RO_COMPAT (EXT4_FEATURE_RO_COMPAT_QUOTA | EXT4_FEATURE_RO_COMPAT_VERITY | \
		      EXT4_FEATURE_RO_COMPAT_BIGALLOC | EXT4_FEATURE_RO_COMPAT_SHARED_BLOCKS | \
		      EXT4_FEATURE_RO_COMPAT_PROJECT | EXT4_FEATURE_RO_COMPAT_REPLICA)

static const char *first_feature(int compat_type, uint32_t mask)
{
	int bit;

	for (bit = 0; bit < 32; bit++)
		if (mask & (1U << bit))
			return e2p_feature2string(compat_type, 1U << bit);
	return "unknown";
}

static uint64_t max_file_size(ext2_filsys fs)
{
	uint64_t bs = fs->blocksize, a = bs / 4, blocks;

	if (ext2fs_has_feature_extents(fs->super))
		return ((1ULL << 32) - 1) * bs;
	blocks = EXT2_NDIR_BLOCKS + a + a * a + a * a * a;
	/* Without huge_file, i_blocks counts 512-byte sectors in 32 bits. */
	if (!ext2fs_has_feature_huge_file(fs->super) && blocks > (1ULL << 32) / (bs / 512))
		blocks = (1ULL << 32) / (bs / 512) - (a + 2);	/* room for map blocks */
	return blocks * bs;
}

/* Decide whether a writable mount is safe; returns the reason if not. */
static const char *write_blocker(struct ngfs *nf, char *buf, size_t len)
{
	struct ext2_super_block *sb = nf->fs->super;

	if (sb->s_feature_incompat & RO_INCOMPAT) {
		uint32_t m = sb->s_feature_incompat & RO_INCOMPAT;
		if (m & EXT3_FEATURE_INCOMPAT_RECOVER)
			return "the journal needs recovery and was not replayed; run e2fsck";
		snprintf(buf, len, "feature '%s' is not supported for writing",
			 first_feature(E2P_FEATURE_INCOMPAT, m));
		return buf;
	}
	if (sb->s_feature_ro_compat & RO_RO_COMPAT) {
		snprintf(buf, len, "feature '%s' is not supported for writing",
			 first_feature(E2P_FEATURE_RO_INCOMPAT,
				       sb->s_feature_ro_compat & RO_RO_COMPAT));
		return buf;
	}
	if (sb->s_feature_ro_compat & ~EXT2_LIB_FEATURE_RO_COMPAT_SUPP) {
		snprintf(buf, len, "unknown read-only-compatible feature '%s'",
			 first_feature(E2P_FEATURE_RO_INCOMPAT,
				       sb->s_feature_ro_compat & ~EXT2_LIB_FEATURE_RO_COMPAT_SUPP));
		return buf;
	}
	if (ext2fs_has_feature_orphan_present(sb) && !ext2fs_has_feature_orphan_file(sb))
		return "feature 'orphan_present' is set without an orphan file; run e2fsck";
	if (sb->s_creator_os == EXT2_OS_HURD)
		return "filesystem was created by GNU Hurd (its inode layout is not supported for writing)";
	if ((sb->s_state & EXT2_ERROR_FS) && !nf->opts.force_unclean)
		return "the filesystem has errors recorded; run e2fsck (or mount with -o force_unclean)";
	/* With a journal, replay has run by now and the kernel keeps VALID_FS set. */
	if (!(sb->s_state & EXT2_VALID_FS) && !nf->opts.force_unclean)
		return "the filesystem was not cleanly unmounted; run e2fsck (or mount with -o force_unclean)";
	if (ext2fs_has_feature_journal(sb) && !sb->s_journal_inum)
		return "the filesystem has an external journal";
	if (ext2fs_has_feature_journal(sb) && sb->s_journal_inum >= EXT2_FIRST_INODE(sb)) {
		snprintf(buf, len, "the journal is inode %u, a file the directory tree can reach "
			 "(early ext3 layout): writing could destroy it", sb->s_journal_inum);
		return buf;
	}
	return NULL;
}

/* -o sb=N (KiB, as the kernel's sb=), for every open of this mount. */
static uint64_t backup_sb_kib;

/*
 * Open at the primary superblock, or at the backup -o sb= names: libext2fs
 * takes a block number and a block size, so try each size that puts a
 * block boundary at N KiB (e2fsck -b does the same search).
 */
static int open_fs(const struct fdio_target *dev, int flags, ext2_filsys *fs)
{
	char name[96];
	errcode_t err = EXT2_ET_BAD_MAGIC;
	unsigned int bs;

	fdio_name(dev, name, sizeof(name));
	if (!backup_sb_kib)
		return ext2fs_open2(name, NULL, flags, 0, 0, fdio_io_manager, fs);
	for (bs = 1024; bs <= 65536; bs *= 2) {
		if ((backup_sb_kib * 1024) % bs)
			continue;
		err = ext2fs_open2(name, NULL, flags, backup_sb_kib * 1024 / bs, bs,
				   fdio_io_manager, fs);
		if (!err)
			return 0;
	}
	return err;
}

/*
 * The primary superblock is not ext2/3/4: is there a backup (group 1's,
 * where mke2fs puts the first)?  Writes the advice into MSG.
 */
static void find_backup_sb(const struct fdio_target *dev, int flags, const char *device,
			   char *msg, size_t msglen)
{
	char name[96];
	unsigned int bs;
	ext2_filsys fs;

	fdio_name(dev, name, sizeof(name));
	for (bs = 1024; bs <= 65536; bs *= 2) {
		blk64_t blk = bs == 1024 ? 8193 : 8 * (blk64_t)bs;	/* group 1 */
		if (ext2fs_open2(name, NULL, flags, blk, bs, fdio_io_manager, &fs))
			continue;
		ext2fs_close_free(&fs);
		snprintf(msg, msglen, "%s: not an ext2/ext3/ext4 filesystem at the primary "
			 "superblock, but a backup superblock is at block %llu (block size %u, "
			 "byte %llu): run e2fsck -b %llu -B %u, or mount it read-only with "
			 "-o sb=%llu", device, (unsigned long long)blk, bs,
			 (unsigned long long)blk * bs, (unsigned long long)blk, bs,
			 (unsigned long long)blk * bs / 1024);
		return;
	}
	snprintf(msg, msglen, "%s: not an ext2/ext3/ext4 filesystem (no backup superblock "
		 "found either)", device);
}

/* Superblock fields the kernel saves across replay (s_error_count .. s_last_error_*). */
#define SB_ERROR_INFO_OFF 0x194
#define SB_ERROR_INFO_LEN (0x200 - 0x194)

/*
 * After a replay (or with only the flag set): clear needs_recovery and keep
 * the error state the log cannot know about, as e2fsck and the kernel do.
 */
static errcode_t finish_recovery(const struct fdio_target *dev, int flags, io_channel wio,
				 const struct journal_report *rep, int had_error,
				 const unsigned char *error_info)
{
	ext2_filsys fs;
	errcode_t err = open_fs(dev, flags | EXT2_FLAG_RW, &fs);

	if (err)
		return err;
	ext2fs_clear_feature_journal_needs_recovery(fs->super);
	if (had_error) {
		fs->super->s_state |= EXT2_ERROR_FS;
		memcpy((char *)fs->super + SB_ERROR_INFO_OFF, error_info, SB_ERROR_INFO_LEN);
	}
	if (rep->recorded_errno)
		fs->super->s_state |= EXT2_ERROR_FS;
	if (rep->blocks_bad)	/* a logged block was lost: e2fsck must look */
		fs->super->s_state &= ~EXT2_VALID_FS;
	fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	ext2fs_mark_super_dirty(fs);
	err = ext2fs_flush2(fs, 0);
	/* The error now lives in the ext4 superblock: let the journal forget it. */
	if (!err && rep->recorded_errno)
		err = journal_clear_errno(fs, wio);
	ext2fs_close_free(&fs);
	return err;
}

/*
 * The journal at mount, by the kernel's rules.  A journal that needs
 * recovery is replayed whenever the device is writable, also for -o ro
 * (NGFS_OPEN_NEEDS_WRITE asks the caller for a writable descriptor);
 * a read-only device is refused; norecovery mounts read-only without
 * replay and is refused with rw.  A log we cannot replay (fast commits,
 * external journal, corruption) is left untouched and served read-only.
 * On return nf->fs is open read-only on the recovered filesystem.
 */
static int recover_journal(struct ngfs *nf, const struct fdio_target *dev, int flags,
			   char *msg, size_t msglen)
{
	struct ext2_super_block *sb = nf->fs->super;
	static char reason[384];
	unsigned char error_info[SB_ERROR_INFO_LEN];
	struct journal_report rep, after;
	enum journal_state state;
	char why[256], name[96];
	io_channel wio;
	int had_error;
	errcode_t err;

	if (!ext2fs_has_feature_journal(sb))
		return NGFS_OPEN_OK;
	state = journal_probe(nf->fs, &rep, why, sizeof(why));
	if (!ext2fs_has_feature_journal_needs_recovery(sb)) {
		if (state == JOURNAL_DIRTY) {
			nf->ro_reason = "the journal holds transactions but the filesystem is not "
					"marked as needing recovery; run e2fsck";
			nf->readonly = 1;
		} else if (state == JOURNAL_UNUSABLE) {
			/* The kernel would not mount it at all. */
			snprintf(reason, sizeof(reason), "the journal is damaged (%s); run e2fsck", why);
			nf->ro_reason = reason;
			nf->readonly = 1;
		} else if (state == JOURNAL_NONE && rep.recorded_errno) {
			snprintf(reason, sizeof(reason), "the journal recorded error %d from a "
				 "previous mount; run e2fsck", rep.recorded_errno);
			nf->ro_reason = reason;
			nf->readonly = 1;
		}
		return NGFS_OPEN_OK;
	}
	if (nf->opts.norecovery) {
		if (!nf->opts.readonly) {
			snprintf(msg, msglen, "%s: the journal needs recovery and norecovery was "
				 "given without ro (as the kernel, refused)", nf->device);
			return NGFS_OPEN_REFUSED;
		}
		nf->ro_reason = "the journal needs recovery; norecovery: mounted without replay";
		nf->readonly = 1;
		return NGFS_OPEN_OK;
	}
	if (state == JOURNAL_UNUSABLE) {
		snprintf(reason, sizeof(reason), "the journal needs recovery but %s; not replayed, "
			 "run e2fsck", why);
		nf->ro_reason = reason;
		nf->readonly = 1;
		return NGFS_OPEN_OK;
	}
	if (!dev->writable) {
		if (nf->opts.readonly)
			return NGFS_OPEN_NEEDS_WRITE;
		snprintf(msg, msglen, "%s: the journal needs recovery but the device is read-only; "
			 "mount with -o ro,norecovery to read it without replay", nf->device);
		return NGFS_OPEN_REFUSED;
	}

	had_error = !!(sb->s_state & EXT2_ERROR_FS);
	memcpy(error_info, (char *)sb + SB_ERROR_INFO_OFF, sizeof(error_info));
	fdio_name(dev, name, sizeof(name));
	err = fdio_io_manager->open(name, IO_FLAG_RW, &wio);
	if (!err) {
		io_channel_set_blksize(wio, nf->fs->blocksize);
		err = journal_replay(nf->fs, wio, &rep, why, sizeof(why));
		ext2fs_close_free(&nf->fs);	/* stale now: the log rewrote metadata */
		if (!err && (err = finish_recovery(dev, flags, wio, &rep, had_error, error_info)))
			snprintf(why, sizeof(why), "cannot update the superblock: %s",
				 error_message(err));
		io_channel_close(wio);
	} else {
		snprintf(why, sizeof(why), "%s", error_message(err));
		ext2fs_close_free(&nf->fs);
	}
	if (open_fs(dev, flags, &nf->fs)) {
		snprintf(msg, msglen, "%s: cannot reopen the filesystem after journal replay",
			 nf->device);
		return NGFS_OPEN_BADFS;
	}
	if (err) {
		snprintf(reason, sizeof(reason), "journal replay failed: %s; run e2fsck", why);
		nf->ro_reason = reason;
		nf->readonly = 1;
		return NGFS_OPEN_OK;
	}
	/* The log may have rewritten the journal inode itself. */
	if (journal_probe(nf->fs, &after, why, sizeof(why)) == JOURNAL_UNUSABLE) {
		snprintf(reason, sizeof(reason), "the journal was replayed but is damaged now (%s); "
			 "run e2fsck", why);
		nf->ro_reason = reason;
		nf->readonly = 1;
	}
	if (!rep.transactions)
		ngfs_log("%s: journal recovered: no committed transaction to replay%s", nf->device,
			 rep.commit_corrupt ? " (transaction with a corrupt commit dropped)" : "");
	else
		ngfs_log("%s: journal replayed: %u transaction(s) %u-%u, %llu block(s) "
			 "written, %llu revoked%s%s", nf->device, rep.transactions,
			 rep.first_tid, rep.end_tid - 1, (unsigned long long)rep.blocks_written,
			 (unsigned long long)rep.blocks_revoked,
			 rep.blocks_bad ? ", some logged blocks had bad checksums" : "",
			 rep.commit_corrupt ? ", a later transaction was corrupt and dropped" : "");
	return NGFS_OPEN_OK;
}

/*
 * As kernel ext4: a filesystem that claims more blocks than its device
 * holds is refused (its block numbers would reach past the device).
 */
static int fits_device(ext2_filsys fs, const char *device, char *msg, size_t msglen)
{
	uint64_t have = fdio_size(fs->io), blocks = ext2fs_blocks_count(fs->super);

	if (blocks <= have / fs->blocksize)
		return 1;
	snprintf(msg, msglen, "%s: bad geometry: the filesystem has %llu blocks of %u bytes, "
		 "the device only %llu bytes", device, (unsigned long long)blocks,
		 fs->blocksize, (unsigned long long)have);
	return 0;
}

int ngfs_open(struct ngfs *nf, const struct fdio_target *dev, const char *device,
	      const struct ngfs_options *opts, char *msg, size_t msglen)
{
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP;
	struct ext2_inode_large root;
	static char reason[256];
	const char *blocker;
	errcode_t err;
	int ret;

	static int tables;

	if (!tables++)
		initialize_ext2_error_table();
	memset(nf, 0, sizeof(*nf));
	pthread_mutex_init(&nf->lock, NULL);
	nf->opts = *opts;
	nf->device = device;
	nf->readonly = opts->readonly || !dev->writable;
	backup_sb_kib = opts->sb;

	err = open_fs(dev, flags, &nf->fs);
	if (err == EXT2_ET_UNSUPP_FEATURE || err == EXT2_ET_RO_UNSUPP_FEATURE) {
		ext2_filsys probe;
		uint32_t bad;

		if (open_fs(dev, flags | EXT2_FLAG_FORCE, &probe) == 0) {
			if (ext2fs_has_feature_journal_dev(probe->super)) {
				snprintf(msg, msglen, "%s: an external journal device (feature "
					 "'journal_dev'), not a filesystem", device);
				ext2fs_close_free(&probe);
				return NGFS_OPEN_REFUSED;
			}
			bad = probe->super->s_feature_incompat & ~EXT2_LIB_FEATURE_INCOMPAT_SUPP;
			snprintf(msg, msglen, "%s: unsupported filesystem feature '%s'",
				 device, bad ? first_feature(E2P_FEATURE_INCOMPAT, bad) :
				 first_feature(E2P_FEATURE_RO_INCOMPAT,
					       probe->super->s_feature_ro_compat &
					       ~EXT2_LIB_FEATURE_RO_COMPAT_SUPP));
			ext2fs_close_free(&probe);
		} else {
			snprintf(msg, msglen, "%s: %s", device, error_message(err));
		}
		return NGFS_OPEN_REFUSED;
	}
	if (err) {
		if (err == EXT2_ET_BAD_MAGIC && opts->sb)
			snprintf(msg, msglen, "%s: no ext2/ext3/ext4 superblock at sb=%llu (KiB)",
				 device, (unsigned long long)opts->sb);
		else if (err == EXT2_ET_BAD_MAGIC)
			find_backup_sb(dev, flags, device, msg, msglen);
		else
			snprintf(msg, msglen, "%s: cannot open filesystem: %s", device,
				 error_message(err));
		return NGFS_OPEN_BADFS;
	}
	if (!fits_device(nf->fs, device, msg, msglen)) {
		ext2fs_close_free(&nf->fs);
		return NGFS_OPEN_BADFS;
	}
	if (nf->fs->super->s_feature_incompat & REFUSE_INCOMPAT) {
		snprintf(msg, msglen, "%s: unsupported filesystem feature '%s'", device,
			 first_feature(E2P_FEATURE_INCOMPAT,
				       nf->fs->super->s_feature_incompat & REFUSE_INCOMPAT));
		ext2fs_close_free(&nf->fs);
		return NGFS_OPEN_REFUSED;
	}
	ret = recover_journal(nf, dev, flags, msg, msglen);
	if (ret != NGFS_OPEN_OK) {
		if (nf->fs)
			ext2fs_close_free(&nf->fs);
		return ret;
	}
	nf->fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	if (ngfs_read_inode(nf, EXT2_ROOT_INO, &root) || !LINUX_S_ISDIR(root.i_mode) ||
	    !root.i_links_count) {
		snprintf(msg, msglen, "%s: the root directory is damaged; run e2fsck", device);
		ext2fs_close_free(&nf->fs);
		return NGFS_OPEN_BADFS;
	}

	if (!nf->readonly && (blocker = write_blocker(nf, reason, sizeof(reason)))) {
		nf->readonly = 1;
		nf->ro_reason = blocker;
	}
	if (!nf->readonly && (blocker = ngfs_layout_blocker(nf, reason, sizeof(reason)))) {
		nf->readonly = 1;	/* claims.c */
		nf->ro_reason = blocker;
	}

	if (!nf->readonly) {
		ext2_filsys rw;

		/* Reopen writable now that we know writing is safe. */
		ext2fs_close_free(&nf->fs);
		err = open_fs(dev, flags | EXT2_FLAG_RW, &rw);
		if (err) {
			snprintf(msg, msglen, "%s: cannot open filesystem for writing: %s",
				 device, error_message(err));
			return NGFS_OPEN_BADFS;
		}
		nf->fs = rw;
		nf->fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
		nf->bitmaps_pending = 1;	/* loaded below, or at the first change */
	}
	if (nf->opts.errors == NGFS_ERRORS_DEFAULT) {
		switch (nf->fs->super->s_errors) {
		case EXT2_ERRORS_RO:
			nf->opts.errors = NGFS_ERRORS_REMOUNT_RO;
			break;
		case EXT2_ERRORS_PANIC:
			nf->opts.errors = NGFS_ERRORS_PANIC;
			break;
		default:
			nf->opts.errors = NGFS_ERRORS_CONTINUE;
		}
	}
	/*
	 * libext2fs keeps 4 inodes in its cache by default: every other inode
	 * read is a pread of an inode-table block.  Keep the last 1024.
	 */
	if (nf->fs->icache) {
		ext2fs_free_inode_cache(nf->fs->icache);
		nf->fs->icache = NULL;
	}
	ext2fs_create_inode_cache(nf->fs, 1024);
	nf->max_file_size = max_file_size(nf->fs);
	nf->nbuckets = 4096;
	nf->nodes = calloc(nf->nbuckets, sizeof(*nf->nodes));
	if (!nf->nodes || ngfs_fmap_init(nf)) {
		free(nf->nodes);
		nf->nodes = NULL;
		snprintf(msg, msglen, "%s: out of memory", device);
		ext2fs_close_free(&nf->fs);
		return NGFS_OPEN_BADFS;
	}
	/* The allocation bitmaps now, or at the first change (bitmaps.c). */
	if (!nf->readonly)
		ngfs_bitmaps_mount(nf, nf->fs->super->s_last_orphan ||
				   ext2fs_has_feature_orphan_present(nf->fs->super));
	/* What an unclean shutdown left half-done: truncates and open unlinked files. */
	if (!nf->readonly && ngfs_recover_orphans(nf, reason, sizeof(reason))) {
		/* Half-processed: not clean until e2fsck has looked. */
		nf->fs->super->s_state |= EXT2_ERROR_FS;
		ext2fs_mark_super_dirty(nf->fs);
		ngfs_flush(nf, 1);
		nf->readonly = 1;
		nf->ro_reason = reason;
	}
	return NGFS_OPEN_OK;
}

/*
 * Journaled writes: the commit= timer.  It never blocks on the filesystem
 * lock (trylock, retried soon when busy), so ngfs_close() can stop and join
 * it while holding that lock.
 */
static void *commit_timer(void *arg)
{
	struct ngfs *nf = arg;
	struct ngfs_commit_timer *t = &nf->timer;
	unsigned int interval = nf->opts.commit_interval ? nf->opts.commit_interval : 5;
	struct timespec due;
	int busy = 0;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		clock_gettime(CLOCK_REALTIME, &due);
		if (busy)
			due.tv_nsec += 200000000;
		else
			due.tv_sec += interval;
		if (due.tv_nsec >= 1000000000) {
			due.tv_sec++;
			due.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&t->wake, &t->lock, &due);
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		busy = pthread_mutex_trylock(&nf->lock) != 0;
		if (!busy) {
			if (nf->journal && !nf->readonly)
				ngfs_flush(nf, 1);
			pthread_mutex_unlock(&nf->lock);
		}
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void timer_stop(struct ngfs *nf)
{
	struct ngfs_commit_timer *t = &nf->timer;

	if (!t->running)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->wake);
	t->running = 0;
}

/*
 * Started by the first verb, not at mount: the daemon forks into the
 * background after ngfs_start_writing(), and threads do not survive a fork.
 */
static void timer_start(struct ngfs *nf)
{
	struct ngfs_commit_timer *t = &nf->timer;

	t->started = 1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake, NULL);
	t->stop = 0;
	t->running = !pthread_create(&t->thread, NULL, commit_timer, nf);
	if (!t->running)
		ngfs_log("%s: no commit timer thread: commits at fsync and unmount only",
			 nf->device);
}

void ngfs_journal_between_verbs(struct ngfs *nf)
{
	if (!nf->timer.started)
		timer_start(nf);
	if (!nf->readonly && journal_wants_commit(nf->journal))
		ngfs_flush(nf, 1);
}

/*
 * Journaled writes on (-o journal_writes, a filesystem with a journal):
 * needs_recovery is set and VALID_FS kept while mounted, as the kernel
 * does; every metadata change then goes through the journal.
 */
static int journal_on(struct ngfs *nf)
{
	struct ext2_super_block *sb = nf->fs->super;
	char why[256];
	errcode_t err;
	int ret;

	ext2fs_set_feature_journal_needs_recovery(sb);
	sb->s_mnt_count++;
	sb->s_mtime = time(NULL);
	nf->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	ext2fs_mark_super_dirty(nf->fs);
	nf->dirty = 1;
	/* needs_recovery is durable before the first log write (jbd2.md 8.2). */
	if ((ret = ngfs_flush(nf, 1)))
		return ret;
	err = journal_start(nf->fs, &nf->journal, why, sizeof(why));
	if (err) {
		ngfs_log("%s: journaled writes off: %s; writing through", nf->device, why);
		ext2fs_clear_feature_journal_needs_recovery(sb);
		return -1;
	}
	ngfs_debug(nf, "journaled writes on (commit=%u)",
		   nf->opts.commit_interval ? nf->opts.commit_interval : 5);
	return 0;
}

/* Commit the rest, empty the log, back to write-through (lock held). */
static int journal_finish(struct ngfs *nf)
{
	int ret;

	uint64_t commits = 0;
	errcode_t err;

	timer_stop(nf);
	ret = ngfs_flush(nf, 1);
	err = journal_stop(nf->journal, &commits);
	if (err && !ret)
		ret = ngfs_errno(nf, err, "journal close", 0);
	ngfs_debug(nf, "journal: %llu commit(s)", (unsigned long long)commits);
	nf->journal = NULL;
	if (ret) {
		/*
		 * A failed commit left the log for the next mount to replay:
		 * nothing more may reach the device (ext2fs_close would flush).
		 */
		nf->fs->flags &= ~(EXT2_FLAG_DIRTY | EXT2_FLAG_BB_DIRTY | EXT2_FLAG_IB_DIRTY |
				   EXT2_FLAG_RW);
		nf->dirty = 0;
		return ret;
	}
	ext2fs_clear_feature_journal_needs_recovery(nf->fs->super);
	nf->fs->flags &= ~EXT2_FLAG_MASTER_SB_ONLY;
	ext2fs_mark_super_dirty(nf->fs);
	nf->dirty = 1;
	return 0;
}

/* Called once the mount is up: the filesystem is in use from now on. */
int ngfs_start_writing(struct ngfs *nf)
{
	struct ext2_super_block *sb = nf->fs->super;

	if (nf->readonly)
		return 0;
	if (nf->opts.journal_writes && ext2fs_has_feature_journal(sb)) {
		int ret = journal_on(nf);
		if (ret >= 0)
			return ret;
	}
	/* Not clean until we unmount cleanly: a crash makes e2fsck check it. */
	sb->s_state &= ~EXT2_VALID_FS;
	sb->s_mnt_count++;
	sb->s_mtime = time(NULL);
	ext2fs_mark_super_dirty(nf->fs);
	nf->dirty = 1;
	return ngfs_flush(nf, 1);
}

/* Journaled: the metadata libext2fs holds in memory into the transaction, then commit. */
static int journal_commit_now(struct ngfs *nf)
{
	ext2_filsys fs = nf->fs;
	errcode_t err;

	journal_release_frees(nf->journal);
	fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	ext2fs_mark_super_dirty(fs);
	ngfs_claims_phantom_marks(nf, 0);	/* never logged either: claims.c */
	err = ext2fs_flush2(fs, EXT2_FLAG_FLUSH_NO_SYNC);
	ngfs_claims_phantom_marks(nf, 1);
	if (!err)
		err = journal_commit(nf->journal);
	if (err) {
		nf->readonly = 1;
		nf->ro_reason = "a journal commit failed; the next mount replays the journal";
		return ngfs_errno(nf, err, "journal commit", 0);
	}
	nf->dirty = 0;
	return 0;
}

int ngfs_flush(struct ngfs *nf, int sync_device)
{
	errcode_t err = 0;

	if (!(nf->fs->flags & EXT2_FLAG_RW))
		return 0;
	if (nf->journal)
		return journal_commit_now(nf);
	if (nf->dirty || (nf->fs->flags & EXT2_FLAG_DIRTY) ||
	    ext2fs_test_bb_dirty(nf->fs) || ext2fs_test_ib_dirty(nf->fs)) {
		ext2fs_mark_super_dirty(nf->fs);
		ngfs_claims_phantom_marks(nf, 0);	/* never written: claims.c */
		err = ext2fs_flush2(nf->fs, EXT2_FLAG_FLUSH_NO_SYNC);
		ngfs_claims_phantom_marks(nf, 1);
		if (err)
			return ngfs_errno(nf, err, "flush", 0);
		nf->dirty = 0;
	}
	if (sync_device)
		return fdio_sync(nf->fs->io);
	return 0;
}

int ngfs_close(struct ngfs *nf)
{
	int ret = 0, err;

	if (!nf->fs)
		return 0;
	if (nf->fs->flags & EXT2_FLAG_RW) {
		ret = ngfs_release_orphans(nf);
		if (!(nf->fs->super->s_state & EXT2_ERROR_FS) && !ret)
			nf->fs->super->s_state |= EXT2_VALID_FS;
		if (nf->journal && (err = journal_finish(nf)) && !ret)
			ret = err;
		nf->dirty = 1;
		err = ngfs_flush(nf, 1);	/* 0 at once when the commit failed (not RW) */
		if (err && !ret)
			ret = err;
	}
	ngfs_claims_phantom_marks(nf, 0);
	ext2fs_close_free(&nf->fs);
	ngfs_nodes_free(nf);
	ngfs_fmap_free(nf);
	ngfs_io_free(nf);
	ngfs_claims_free(nf);
	pthread_mutex_destroy(&nf->lock);
	return ret;
}

/* Blocks the kernel's ext4 counts as overhead: metadata and the journal. */
static blk64_t overhead_blocks(ext2_filsys fs)
{
	blk64_t total = fs->super->s_first_data_block;
	dgrp_t g;

	if (fs->super->s_overhead_clusters)
		return EXT2FS_C2B(fs, fs->super->s_overhead_clusters);
	for (g = 0; g < fs->group_desc_count; g++) {
		blk_t used = 0;
		ext2fs_super_and_bgd_loc2(fs, g, NULL, NULL, NULL, &used);
		total += used + 2 + fs->inode_blocks_per_group;
	}
	if (ext2fs_has_feature_journal(fs->super) && fs->super->s_journal_inum) {
		struct ext2_inode ji;
		if (!ext2fs_read_inode(fs, fs->super->s_journal_inum, &ji))
			total += EXT2_I_SIZE(&ji) / fs->blocksize;
	}
	return total;
}

int ngfs_statfs(struct ngfs *nf, struct statvfs *st)
{
	ext2_filsys fs = nf->fs;
	blk64_t blocks = ext2fs_blocks_count(fs->super);
	blk64_t bfree = ext2fs_free_blocks_count(fs->super);
	blk64_t reserved = ext2fs_r_blocks_count(fs->super);
	int err = ngfs_check_alive(nf);

	if (err)
		return err;
	if (!nf->overhead)
		nf->overhead = overhead_blocks(fs);
	/* The kernel also holds back 2% (at most 4096 clusters) on extent filesystems. */
	if (ext2fs_has_feature_extents(fs->super)) {
		blk64_t resv = blocks / 50;
		reserved += resv < 4096 ? resv : 4096;
	}
	memset(st, 0, sizeof(*st));
	st->f_bsize = fs->blocksize;
	st->f_frsize = fs->blocksize;
	st->f_blocks = nf->opts.minixdf ? blocks : blocks - nf->overhead;
	st->f_bfree = bfree;
	st->f_bavail = bfree > reserved ? bfree - reserved : 0;
	st->f_files = fs->super->s_inodes_count;
	st->f_ffree = fs->super->s_free_inodes_count;
	st->f_favail = st->f_ffree;
	memcpy(&st->f_fsid, fs->super->s_uuid, sizeof(st->f_fsid));
	st->f_namemax = EXT2_NAME_LEN;
	st->f_flag = nf->readonly ? ST_RDONLY : 0;
	return 0;
}

const char *ngfs_fstype(struct ngfs *nf)
{
	struct ext2_super_block *sb = nf->fs->super;

	if (sb->s_feature_incompat & ~(EXT3_FEATURE_INCOMPAT_RECOVER | EXT2_FEATURE_INCOMPAT_FILETYPE |
				      EXT2_FEATURE_INCOMPAT_META_BG) ||
	    sb->s_feature_ro_compat & ~(EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER |
				       EXT2_FEATURE_RO_COMPAT_LARGE_FILE))
		return "ext4";
	if (ext2fs_has_feature_journal(sb))
		return "ext3";
	return "ext2";
}

/*
 * Blocks kept back from every allocation, so that libext2fs never runs out
 * half-way through an operation (an extent split, a directory block, an
 * xattr block): its error paths can leave i_blocks or the bitmaps behind.
 */
#define NGFS_SLACK_BLOCKS 16

/* How many of WANT blocks may be allocated now (0 means ENOSPC). */
blk64_t ngfs_space_grant(struct ngfs *nf, blk64_t want)
{
	blk64_t free = ext2fs_free_blocks_count(nf->fs->super);
	blk64_t keep = NGFS_SLACK_BLOCKS;

	if (!nf->caller_reserved)
		keep += ext2fs_r_blocks_count(nf->fs->super);
	if (free <= keep)
		return 0;
	free -= keep;
	return want < free ? want : free;
}
