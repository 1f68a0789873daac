# tests/iomap: owned by the iomap test-client work (included from Makefile.am).
#
# client      plays the kernel's part of the FUSE iomap protocol over a
#             socketpair against the real daemon (tests/cases/iomap-*).
# devshim.so  LD_PRELOADed into the daemon: answers FUSE_DEV_IOC_IOMAP_DEV_ADD,
#             which cannot work on a socket.
check_PROGRAMS += tests/iomap/client
tests_iomap_client_SOURCES = \
	tests/iomap/wire.h tests/iomap/wire.c \
	tests/iomap/cache.h tests/iomap/cache.c \
	tests/iomap/kernel.h tests/iomap/kernel.c \
	tests/iomap/flows.h tests/iomap/flows.c \
	tests/iomap/model.h tests/iomap/model.c \
	tests/iomap/client.h tests/iomap/main.c \
	tests/iomap/scenarios.c tests/iomap/random.c \
	tests/iomap/badinput.c tests/iomap/fscheck.c

tests_iomap_client_LDADD = $(EXT2FS_LIBS) $(COMERR_LIBS)

check_DATA = tests/iomap/devshim.so
CLEANFILES = tests/iomap/devshim.so

# No libtool here: a plain shared object.  Built without the sanitizers:
# it is preloaded into a daemon that may or may not be instrumented.
tests/iomap/devshim.so: $(srcdir)/tests/iomap/devshim.c
	@mkdir -p tests/iomap
	$(CC) -shared -fPIC $(WARN_CFLAGS) -O2 -o $@ $(srcdir)/tests/iomap/devshim.c -ldl

# The multi-process random stress the iomap VM stress case runs
# (tests/vm/stress.sh, tests/cases/iomap-vm-stress).
check_PROGRAMS += tests/vm/stress
tests_vm_stress_SOURCES = tests/vm/stress.c
tests_vm_stress_LDADD =
