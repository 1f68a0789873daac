/*
 * recover [-f] IMAGE: open IMAGE read-write as our mount does (journal replay,
 * orphan processing) and close it cleanly, without FUSE.  The crash tests
 * run it at every crash point; exit 0 when the filesystem was served
 * read-write, 2 when it fell back to read-only (the reason on stderr),
 * 1 when it could not be opened.  -f: force_unclean (read-write even when
 * not cleanly unmounted: shows what write-through leaves at a crash).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/ngfs.h"

int main(int argc, char **argv)
{
	struct fdio_target dev = { .writable = 1, .image_fd = -1 };
	struct ngfs_options opts;
	struct ngfs nf;
	char msg[512] = "";
	int ret, ro, force = argc == 3 && !strcmp(argv[1], "-f");

	if (argc != 2 + force) {
		fprintf(stderr, "usage: recover [-f] IMAGE\n");
		return 1;
	}
	argv += force;
	dev.fd = open(argv[1], O_RDWR);
	if (dev.fd < 0) {
		perror(argv[1]);
		return 1;
	}
	memset(&opts, 0, sizeof(opts));
	opts.acl = 1;
	opts.force_unclean = force;
	ret = ngfs_open(&nf, &dev, argv[1], &opts, msg, sizeof(msg));
	if (ret) {
		fprintf(stderr, "recover: %s (%d)\n", msg, ret);
		return 1;
	}
	ro = nf.readonly;
	if (ro)
		fprintf(stderr, "recover: read-only: %s\n", nf.ro_reason ? nf.ro_reason : "?");
	ngfs_lock(&nf);
	ret = ngfs_close(&nf);
	if (ret) {
		fprintf(stderr, "recover: close: %s\n", strerror(ret));
		return 1;
	}
	close(dev.fd);
	return ro ? 2 : 0;
}
