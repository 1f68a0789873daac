/* loopdev: attach an image file to a free loop device (autoclear). */
#ifndef NG_LOOPDEV_H
#define NG_LOOPDEV_H
#include <stddef.h>

/*
 * Attach the open image fd to a new loop device; on success returns an fd
 * open on the loop device and fills path.  The device detaches itself when
 * the last user closes it.  Returns -errno on failure.
 */
int loopdev_attach(int image_fd, int readonly, char *path, size_t pathlen);

#endif
