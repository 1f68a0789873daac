/*
 * devshim.so: LD_PRELOADed into the daemon.  Our "/dev/fuse" is a socket,
 * so the one device ioctl iomap needs, FUSE_DEV_IOC_IOMAP_DEV_ADD, is
 * answered here as the RFC v3 kernel answers it (spec 2.5): flags or
 * padding nonzero -> EINVAL; a bad fd -> EBADF; not a block device ->
 * ENODEV; else a device id allocated cyclically from 1.  Each registration
 * is appended to $NG_IOMAP_DEVFILE as "ID MAJOR MINOR" for the client.
 * Every other ioctl goes to the real one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define DEV_ADD 0x4010E503UL

struct backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
_Static_assert(sizeof(struct backing_map) == 16, "fuse_backing_map");

static int next_id = 1;

static int dev_add(const struct backing_map *m)
{
	const char *path = getenv("NG_IOMAP_DEVFILE");
	struct stat st;
	char line[64];
	int id, fd, n;

	if (!m) {
		errno = EFAULT;
		return -1;
	}
	if (m->flags || m->padding) {
		errno = EINVAL;
		return -1;
	}
	if (fstat(m->fd, &st) < 0) {
		errno = EBADF;
		return -1;
	}
	if (!S_ISBLK(st.st_mode)) {
		errno = ENODEV;
		return -1;
	}
	id = next_id++;
	if (next_id <= 0)
		next_id = 1;
	if (path && *path) {
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			n = snprintf(line, sizeof(line), "%d %u %u\n", id, major(st.st_rdev),
				     minor(st.st_rdev));
			if (write(fd, line, (size_t)n) != n)
				id = -1;
			close(fd);
		}
		if (fd < 0 || id < 0) {
			errno = EIO;
			return -1;
		}
	}
	return id;
}

/* glibc declares ioctl(int, unsigned long, ...) */
int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if ((req & 0xFFFFFFFFUL) == DEV_ADD)
		return dev_add(arg);
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, req, arg);
}
