/*
 * fuse2fs: serve an ext2/ext3/ext4 filesystem through FUSE.
 * The work is done by lib/fuse (the FUSE front) over lib/core.
 */
#include <stdlib.h>
#include <string.h>

#include "fuse/front.h"

int main(int argc, char *argv[])
{
	struct front_config cfg;
	int ret;

	if (argc > 1 && !strcmp(argv[1], "--service"))
		return front_service_main(argc, argv);
	ret = front_parse_args(argc, argv, &cfg);
	if (!ret)
		ret = front_run(&cfg);
	front_config_free(&cfg);
	return ret;
}
