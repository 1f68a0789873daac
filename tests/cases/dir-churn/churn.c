/*
 * churn.c: the directory sequence of fstests generic/637, many times over,
 * from several threads: each thread fills its own directory, opens it, reads
 * the first entries, unlinks every file (some held open, some hard-linked),
 * reads the rest of the listing on the old descriptor and then the whole
 * listing on a new one.  A removed name may or may not appear on the old
 * descriptor (POSIX); on the new one it must not.  Exit 0 = behaved.
 *
 *   churn DIR [THREADS] [ROUNDS] [FILES]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *top;
static int rounds = 50, files = 40;
static volatile int failed;

static void bad(const char *what, const char *path)
{
	fprintf(stderr, "churn: %s: %s: %s\n", what, path, strerror(errno));
	failed = 1;
}

/* Read entries from FD with a small buffer; count names other than dots. */
static int list(int fd, int max_calls)
{
	char buf[512];
	int n = 0, calls = 0;
	long got;

	while ((max_calls < 0 || calls++ < max_calls) &&
	       (got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		long pos = 0;
		while (pos < got) {
			struct { unsigned long long ino; long long off; unsigned short reclen;
				 unsigned char type; char name[]; } *de = (void *)(buf + pos);
			if (strcmp(de->name, ".") && strcmp(de->name, ".."))
				n++;
			pos += de->reclen;
		}
	}
	return n;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	char dir[4096], path[4200], other[4200];
	int r, i;

	snprintf(dir, sizeof(dir), "%s/t%ld", top, id);
	if (mkdir(dir, 0755) && errno != EEXIST)
		bad("mkdir", dir);
	for (r = 0; r < rounds && !failed; r++) {
		int held[8], nheld = 0, d1, d2, left;

		for (i = 0; i < files; i++) {
			int fd;
			snprintf(path, sizeof(path), "%s/file-with-a-long-name-%d-%d", dir, r, i);
			fd = open(path, O_CREAT | O_WRONLY, 0644);
			if (fd < 0) {
				bad("create", path);
				return NULL;
			}
			/* Each file is renamed away, or gets a second name, or stays open. */
			if (i % 5 != 0 && i % 11 != 3 && i % 7 == 1 && nheld < 8)
				held[nheld++] = fd;	/* an orphan after unlink */
			else
				close(fd);
			if (i % 5 != 0 && i % 11 == 3) {	/* a second name, kept */
				snprintf(other, sizeof(other), "%s/../t%ld-link-%d-%d", dir, id, r, i);
				if (link(path, other))
					bad("link", other);
			}
		}
		d1 = open(dir, O_RDONLY | O_DIRECTORY);
		if (d1 < 0) {
			bad("open", dir);
			return NULL;
		}
		list(d1, 1);	/* the first entries: the daemon takes its snapshot */
		for (i = 0; i < files; i++) {
			snprintf(path, sizeof(path), "%s/file-with-a-long-name-%d-%d", dir, r, i);
			if (i % 5 == 0) {	/* a rename out of the listing */
				snprintf(other, sizeof(other), "%s/../t%ld-moved", dir, id);
				if (rename(path, other))
					bad("rename", path);
			} else if (unlink(path)) {
				bad("unlink", path);
			}
		}
		list(d1, -1);	/* the rest, on the old descriptor */
		d2 = open(dir, O_RDONLY | O_DIRECTORY);
		if (d2 < 0) {
			bad("open", dir);
			return NULL;
		}
		left = list(d2, -1);
		if (left) {
			fprintf(stderr, "churn: %s: %d removed names still listed on a new descriptor\n",
				dir, left);
			failed = 1;
		}
		/* rewind the old one: a fresh listing there too */
		lseek(d1, 0, SEEK_SET);
		if ((left = list(d1, -1))) {
			fprintf(stderr, "churn: %s: %d removed names listed after rewind\n", dir, left);
			failed = 1;
		}
		close(d1);
		close(d2);
		for (i = 0; i < nheld; i++) {
			struct stat st;
			if (fstat(held[i], &st) || st.st_nlink != 0) {
				fprintf(stderr, "churn: open unlinked file: nlink %lu\n",
					(unsigned long)st.st_nlink);
				failed = 1;
			}
			close(held[i]);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 4, i;
	pthread_t t[64];

	if (argc < 2) {
		fprintf(stderr, "usage: churn DIR [THREADS] [ROUNDS] [FILES]\n");
		return 2;
	}
	top = argv[1];
	if (argc > 2)
		threads = atoi(argv[2]);
	if (argc > 3)
		rounds = atoi(argv[3]);
	if (argc > 4)
		files = atoi(argv[4]);
	if (threads < 1 || threads > 64 || rounds < 1 || files < 1) {
		fprintf(stderr, "churn: bad arguments\n");
		return 2;
	}
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(long)i);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return failed;
}
