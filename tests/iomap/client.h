/*
 * client.h: what main.c shares with the scenario, random and bad-input
 * drivers.
 */
#ifndef IOMAP_CLIENT_H
#define IOMAP_CLIENT_H

#include "model.h"

struct opts {
	const char *fuse2fs, *shim, *image, *dopts, *record, *dump_dir;
	uint64_t seed;
	long ops;
	int nfiles;
	uint64_t maxsize;
	int offer_iomap, expect_iomap, expect_cache;
	int paranoid;			/* random: check the disk after every op */
	int fs_extents, fs_inline;	/* image features (from libext2fs) */
};

extern struct opts O;

/* Start a scenario: label for messages, counters reset. */
void scenario_begin(struct kernel *k, const char *name);
/* Print the one-line upcall summary of the scenario. */
void scenario_end(struct kernel *k);
/* The mapping a single op sees at pos (through k_begin). */
struct kmap map_at(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos, uint64_t count);

void run_scenarios(struct kernel *k, int argc, char **argv);
void run_random(struct kernel *k);
void run_badinput(struct kernel *k);
void run_corrupt(struct kernel *k, int argc, char **argv);

#endif
