/*
 * cstress.h: what the concurrency stress (cstress.c: threads, operations,
 * checks at rest) and its model (model.c: unit contents, histories, the
 * judgement of racing reads) share.  See cstress.c for the design.
 */
#ifndef CSTRESS_H
#define CSTRESS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <linux/falloc.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define UNIT		4096
#define MAX_FILES	16
#define MAX_UNITS	256
#define HIST		64	/* history entries kept per unit, size and name */
#define MAX_IO_UNITS	16
#define MAGIC		0x3153455254534343ULL	/* "CCSTRES1" */

struct rng { uint64_t s; };

struct unit_header {
	uint64_t magic;
	uint32_t file;
	uint32_t unit;
	uint64_t gen;
	uint64_t seed;
};

/* A unit holds bytes [0, valid) of generation gen, zeros after; gen 0: zeros. */
struct unit_state {
	uint64_t gen;
	uint32_t valid;
};

struct unit_event {
	uint64_t start, end;	/* end 0: still running */
	struct unit_state after;
	char op;		/* for messages: w(rite) d(irect write) t(runcate) p(unch) z(ero) */
};

struct size_event {
	uint64_t start, end;
	uint64_t before, after;
	int gradual;		/* an extending write: any size in between */
};

struct unit_model {
	pthread_mutex_t range_lock;	/* held by the mutation in progress */
	struct unit_state cur;
	struct unit_event hist[HIST];
	uint64_t n;			/* events recorded so far */
};

struct file_model {
	int id;
	ino_t ino;
	pthread_rwlock_t buffered_lock;	/* buffered writes shared, buffered reads exclusive (not with -F) */
	pthread_rwlock_t size_lock;
	pthread_mutex_t hist_lock;	/* every history of this file */
	uint64_t size;
	struct size_event size_hist[HIST];
	uint64_t size_n;
	struct unit_model units[MAX_UNITS];
};

/*
 * Names: slot s is d<s%2>/n<s>; FILES + 2 slots, the files start in the
 * first FILES.  Renames are serialised by rename_lock.
 */
#define MAX_SLOTS (MAX_FILES + 2)
struct name_event {
	uint64_t start, end;
	int after;		/* file id, or -1: no such name */
};

struct slot_model {
	int cur;
	struct name_event hist[HIST];
	uint64_t n;
};

/*
 * One mutation: the events it recorded, closed together when its system
 * call returns.
 */
struct mutation {
	struct file_model *f;
	struct unit_event *ev[MAX_UNITS];
	int n_ev;
	struct size_event *sev;
};

#define MAX_CAND (HIST + 1)

/* the parameters (cstress.c) */
extern const char *top;
extern uint64_t seed;
extern int n_files, max_units, no_order;

extern int racing_fadvise, use_direct;
extern const char *skip_ops;

/* one thread of the stress (cstress.c) */
struct worker {
	pthread_t thread;
	int index;
	char kind;		/* 'w' 'r' 't' 'n' */
	struct rng rng;
	int fd[MAX_FILES];	/* opened once: they follow the inode across renames */
	int dfd[MAX_FILES];	/* the same with O_DIRECT (-1 without) */
	unsigned char *buf;
	unsigned char (*content)[UNIT];	/* the candidates' bytes, for judge_unit */
	uint64_t ops;
};

void syscall_failed(const char *op, int file, int err);

/* racing write+truncate pairs (race_pair.c) */
extern atomic_uint_fast64_t pairs_write_first, pairs_other_first;
extern atomic_int pair_inject;
void op_race_pair(struct worker *w, struct file_model *f);

/* the model (model.c) */
extern atomic_int failures, stop_now;
extern atomic_uint_fast64_t clock_ticks, next_gen;
extern struct file_model files[MAX_FILES];
extern int n_slots;
extern struct slot_model slots[MAX_SLOTS];
extern pthread_mutex_t names_hist_lock;

uint64_t mix64(uint64_t z);
uint64_t rnd(struct rng *r);
uint64_t below(struct rng *r, uint64_t n);
void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void unit_content(unsigned char *buf, int file, uint32_t unit, uint64_t gen);
uint64_t tick(void);
void slot_path(char *buf, size_t len, int s);
int file_by_ino(ino_t ino);
struct unit_event *unit_begin(struct unit_model *u, uint64_t start, struct unit_state after,
			      char op);
struct size_event *size_begin(struct file_model *f, uint64_t start, uint64_t after, int gradual);
void mutation_end(struct mutation *m);
void size_lock(struct file_model *f, int exclusive);
void size_unlock(struct file_model *f);
void range_lock(struct file_model *f, uint32_t u0, uint32_t n);
void range_unlock(struct file_model *f, uint32_t u0, uint32_t n);
int unit_candidates(const struct unit_model *u, uint64_t rs, uint64_t re,
		    struct unit_state *cand);
int size_allows(const struct file_model *f, uint64_t rs, uint64_t re,
		uint64_t off, uint64_t len, uint64_t got, int reading);
void size_history(const struct file_model *f, char *out, size_t len);
void describe_bytes(char *out, size_t len, const unsigned char *unit_start, int have_header,
		    int file, uint32_t unit);
void unit_history(const struct unit_model *u, char *out, size_t len);
int name_allows(int s, uint64_t rs, uint64_t re, int id);
const char *describe_id(int id, char *buf);
void judge_read(struct file_model *f, const unsigned char *buf, uint64_t off,
		uint64_t len, uint64_t got, uint64_t rs, uint64_t re, const char *how,
		unsigned char (*content)[UNIT]);

#endif
