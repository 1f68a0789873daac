/*
 * fhandle: keep file handles across remounts (tests/cases/file-handles).
 *
 *   fhandle save PATH FILE          name_to_handle_at(PATH) -> FILE
 *   fhandle forge NODEID GEN FILE   a FUSE handle (type 0x81: node id, generation)
 *   fhandle open MOUNT FILE         open_by_handle_at; prints "ok" and the
 *                                   first line of a file, "ok dir" for a
 *                                   directory, or the errno name
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

struct handle {
	struct file_handle h;
	unsigned char space[MAX_HANDLE_SZ];
};

static int save(const char *file, const struct handle *fh)
{
	FILE *f = fopen(file, "wb");

	if (!f || fwrite(fh, sizeof(fh->h) + fh->h.handle_bytes, 1, f) != 1 || fclose(f)) {
		perror(file);
		return 1;
	}
	return 0;
}

static const char *errname(int e)
{
	switch (e) {
	case ESTALE: return "ESTALE";
	case ENOENT: return "ENOENT";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case EIO: return "EIO";
	case EUCLEAN: return "EUCLEAN";
	}
	return strerror(e);
}

int main(int argc, char **argv)
{
	struct handle fh;
	int mount_id, mfd, fd;

	memset(&fh, 0, sizeof(fh));
	if (argc == 4 && !strcmp(argv[1], "save")) {
		fh.h.handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, argv[2], &fh.h, &mount_id, 0)) {
			perror(argv[2]);
			return 1;
		}
		return save(argv[3], &fh);
	}
	if (argc == 5 && !strcmp(argv[1], "forge")) {
		unsigned long long nodeid = strtoull(argv[2], NULL, 0);
		unsigned int words[3] = { (unsigned int)(nodeid >> 32), (unsigned int)nodeid,
					  (unsigned int)strtoul(argv[3], NULL, 0) };

		fh.h.handle_type = 0x81;	/* the kernel's FUSE handle: FILEID_INO64_GEN */
		fh.h.handle_bytes = sizeof(words);
		memcpy(fh.h.f_handle, words, sizeof(words));
		return save(argv[4], &fh);
	}
	if (argc == 4 && !strcmp(argv[1], "open")) {
		FILE *f = fopen(argv[3], "rb");
		char line[256] = "";
		struct stat st;

		if (!f || fread(&fh, 1, sizeof(fh), f) < sizeof(fh.h)) {
			perror(argv[3]);
			return 1;
		}
		fclose(f);
		mfd = open(argv[2], O_RDONLY | O_DIRECTORY);
		if (mfd < 0) {
			perror(argv[2]);
			return 1;
		}
		fd = open_by_handle_at(mfd, &fh.h, O_RDONLY);
		if (fd < 0) {
			printf("%s\n", errname(errno));
			return 0;
		}
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			printf("ok dir\n");
			return 0;
		}
		if (read(fd, line, sizeof(line) - 1) < 0)
			printf("read: %s\n", errname(errno));
		else
			printf("ok %s", strtok(line, "\n") ? line : "");
		printf("\n");
		return 0;
	}
	fprintf(stderr, "usage: fhandle save PATH FILE | forge NODEID GEN FILE | open MOUNT FILE\n");
	return 2;
}
