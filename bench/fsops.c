/*
 * bench/fsops.c: the metadata workloads of bench/run.sh, timed from inside
 * one process so that no fork/exec per file blurs the numbers.
 *
 *   fsops create  DIR N [CAP]   create N empty files DIR/f0000000...
 *   fsops stat    DIR N [CAP]   lstat those N names
 *   fsops unlink  DIR N [CAP]   unlink them
 *   fsops walk    DIR [CAP]     readdir + fstatat of every entry below DIR
 *   fsops append  FILE N        N x (4 KiB append + fsync)
 *   fsops populate DIR DIRS PER create DIRS directories of PER empty files
 *   fsops waitmount DIR SECS    poll until DIR is a mount point of its own;
 *                               print the CLOCK_REALTIME of that moment
 *
 * The timed verbs print "SECONDS COUNT": COUNT is how many items were done.
 * CAP (seconds, 0 = none) stops a verb early; the caller sees COUNT < N and
 * reports "> CAP".  Exit status 1 with a message on any error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fsops: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static long arg_long(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "fsops: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

/* The cap is checked every 64 items: cheap, and precise enough for a cap
 * of seconds. */
static int over_cap(double t0, double cap, long i)
{
	return cap > 0 && (i & 63) == 0 && now(CLOCK_MONOTONIC) - t0 > cap;
}

enum verb { CREATE, STAT, UNLINK };

static void per_name(enum verb verb, const char *dir, long n, double cap)
{
	char path[4096];
	struct stat st;
	double t0 = now(CLOCK_MONOTONIC);
	long i;
	int fd;

	for (i = 0; i < n; i++) {
		if (over_cap(t0, cap, i))
			break;
		snprintf(path, sizeof(path), "%s/f%07ld", dir, i);
		switch (verb) {
		case CREATE:
			fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0)
				die("create", path);
			close(fd);
			break;
		case STAT:
			if (lstat(path, &st) < 0)
				die("stat", path);
			break;
		case UNLINK:
			if (unlink(path) < 0)
				die("unlink", path);
			break;
		}
	}
	printf("%.6f %ld\n", now(CLOCK_MONOTONIC) - t0, i);
}

struct walk {
	double t0, cap;
	long count;
	int capped;
};

/* Depth-first, like find: readdir, then fstatat of each entry. */
static void walk_dir(struct walk *w, int dirfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		die("open directory", name);
	d = fdopendir(fd);
	if (!d)
		die("fdopendir", name);
	while (!w->capped && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("stat", de->d_name);
		w->count++;
		if (over_cap(w->t0, w->cap, w->count)) {
			w->capped = 1;
			break;
		}
		if (S_ISDIR(st.st_mode))
			walk_dir(w, fd, de->d_name);
	}
	closedir(d);
}

static void append_fsync(const char *file, long n)
{
	static char block[4096];
	double t0;
	long i;
	int fd;

	memset(block, 'a', sizeof(block));
	fd = open(file, O_CREAT | O_WRONLY | O_APPEND, 0644);
	if (fd < 0)
		die("open", file);
	t0 = now(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			die("write", file);
		if (fsync(fd) < 0)
			die("fsync", file);
	}
	printf("%.6f %ld\n", now(CLOCK_MONOTONIC) - t0, n);
	close(fd);
}

static void populate(const char *top, long dirs, long per)
{
	char path[4096];
	long d, i;
	int fd;

	for (d = 0; d < dirs; d++) {
		snprintf(path, sizeof(path), "%s/d%05ld", top, d);
		if (mkdir(path, 0755) < 0)
			die("mkdir", path);
		for (i = 0; i < per; i++) {
			snprintf(path, sizeof(path), "%s/d%05ld/f%07ld", top, d, i);
			fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0)
				die("create", path);
			close(fd);
		}
	}
}

/* A mount point has another st_dev than its parent. */
static void wait_mount(const char *dir, double secs)
{
	char parent[4096];
	struct stat a, b;
	double t0 = now(CLOCK_MONOTONIC);
	struct timespec pause = { 0, 500000 };

	snprintf(parent, sizeof(parent), "%s/..", dir);
	for (;;) {
		if (stat(dir, &a) == 0 && stat(parent, &b) == 0 &&
		    a.st_dev != b.st_dev) {
			printf("%.6f\n", now(CLOCK_REALTIME));
			return;
		}
		if (now(CLOCK_MONOTONIC) - t0 > secs) {
			fprintf(stderr, "fsops: %s not mounted after %.0f s\n", dir, secs);
			exit(1);
		}
		nanosleep(&pause, NULL);
	}
}

int main(int argc, char **argv)
{
	const char *v = argc > 1 ? argv[1] : "";
	double cap;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((!strcmp(v, "create") || !strcmp(v, "stat") || !strcmp(v, "unlink")) &&
	    (argc == 4 || argc == 5)) {
		cap = argc == 5 ? arg_long(argv[4]) : 0;
		per_name(!strcmp(v, "create") ? CREATE : !strcmp(v, "stat") ? STAT : UNLINK,
			 argv[2], arg_long(argv[3]), cap);
	} else if (!strcmp(v, "walk") && (argc == 3 || argc == 4)) {
		struct walk w = { now(CLOCK_MONOTONIC), argc == 4 ? arg_long(argv[3]) : 0, 0, 0 };

		walk_dir(&w, AT_FDCWD, argv[2]);
		printf("%.6f %ld %d\n", now(CLOCK_MONOTONIC) - w.t0, w.count, w.capped);
	} else if (!strcmp(v, "append") && argc == 4) {
		append_fsync(argv[2], arg_long(argv[3]));
	} else if (!strcmp(v, "populate") && argc == 5) {
		populate(argv[2], arg_long(argv[3]), arg_long(argv[4]));
	} else if (!strcmp(v, "waitmount") && argc == 4) {
		wait_mount(argv[2], arg_long(argv[3]));
	} else {
		fprintf(stderr, "usage: fsops create|stat|unlink DIR N [CAP] | walk DIR [CAP] |\n"
			"       append FILE N | populate DIR DIRS PER | waitmount DIR SECS\n");
		return 2;
	}
	return 0;
}
