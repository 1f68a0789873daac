/* loopdev: attach an image to a loop device with LOOP_CONFIGURE. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/loop.h>

#include "io/loopdev.h"

int loopdev_attach(int image_fd, int readonly, char *path, size_t pathlen)
{
	struct loop_config cfg;
	int ctl, tries, loop_fd = -1, err = 0;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	/* Another process may grab the same free device: retry a few times. */
	for (tries = 0; tries < 16; tries++) {
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			err = -errno;
			break;
		}
		snprintf(path, pathlen, "/dev/loop%d", nr);
		loop_fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (loop_fd < 0) {
			err = -errno;
			continue;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = image_fd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (readonly ? LO_FLAGS_READ_ONLY : 0);
		snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "fuse2fs-ng");
		if (ioctl(loop_fd, LOOP_CONFIGURE, &cfg) == 0) {
			err = 0;
			break;
		}
		err = -errno;
		close(loop_fd);
		loop_fd = -1;
		if (err != -EBUSY)
			break;
	}
	close(ctl);
	return loop_fd >= 0 ? loop_fd : err;
}
