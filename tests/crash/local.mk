# tests/crash: crash-point tests of journaled writes (included from Makefile.am).
#
# fuse2fs-crashrec  the daemon's test build: the crash recorder in lib/io/fdio.c
#                   (FUSE2FS_CRASH_LOG=FILE logs every device write and flush),
#                   FUSE2FS_CRASH_JCAP=N, a transaction limit of N blocks
#                   (lib/journal/transaction.c), to crash inside split verbs,
#                   and the test hooks of lib/core/data.c (NG_TEST_HOOKS);
#                   production binaries have no such code paths.
# recover           what our mount does to a crashed image (journal replay,
#                   orphans, clean close) without FUSE: thousands of crash
#                   points in seconds.
check_PROGRAMS += tests/crash/fuse2fs-crashrec tests/crash/recover
tests_crash_fuse2fs_crashrec_SOURCES = misc/fuse2fs.c lib/io/fdio.c lib/io/loopdev.c \
	lib/journal/transaction.c lib/core/data.c
tests_crash_fuse2fs_crashrec_CPPFLAGS = $(AM_CPPFLAGS) -DNG_CRASH_RECORDER -DNG_TEST_HOOKS
tests_crash_fuse2fs_crashrec_CFLAGS = $(misc_fuse2fs_CFLAGS)
tests_crash_fuse2fs_crashrec_LDADD = lib/libngfuse.a lib/libngcore.a lib/libngjournal.a \
	lib/libngsandbox.a $(FUSE3_LIBS) $(EXT2FS_LIBS) $(E2P_LIBS) $(COMERR_LIBS) \
	$(CAPNG_LIBS) $(SYSTEMD_LIBS) -lpthread
tests_crash_recover_SOURCES = tests/crash/recover.c
tests_crash_recover_LDADD = lib/libngcore.a lib/libngjournal.a lib/libngio.a \
	$(EXT2FS_LIBS) $(E2P_LIBS) $(COMERR_LIBS) -lpthread
