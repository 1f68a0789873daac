/*
 * model.h: a file as the test expects it (an in-memory byte array) beside
 * the kernel inode the client drives; every operation goes to both, every
 * read is compared.
 */
#ifndef IOMAP_MODEL_H
#define IOMAP_MODEL_H

#include "flows.h"

struct vfile {
	struct kinode *ip;
	uint8_t *data;
	uint64_t size, cap;
	char name[32];
};

void vf_open(struct kernel *k, struct vfile *f, const char *name);
void vf_close(struct vfile *f);
void vf_write(struct kernel *k, struct vfile *f, uint64_t pos, size_t len, uint32_t seed,
	      int direct);
void vf_truncate(struct kernel *k, struct vfile *f, uint64_t size);
/* Returns the FALLOCATE error (0 or -errno); the model follows only on 0. */
int vf_fallocate(struct kernel *k, struct vfile *f, int mode, uint64_t off, uint64_t len);
void vf_check(struct kernel *k, struct vfile *f, uint64_t pos, size_t len, int direct);
void vf_check_all(struct kernel *k, struct vfile *f);
/* FIEMAP-style REPORT walk compared with the model and the device. */
void vf_check_report(struct kernel *k, struct vfile *f);
/* REPORT walk checked against the model, dirty blocks left out (no writeback). */
void vf_check_disk(struct kernel *k, struct vfile *f);
void vf_check_seek(struct kernel *k, struct vfile *f, uint64_t off);
void vf_check_size(struct kernel *k, struct vfile *f);
/* Write the model's content to path (for comparing with debugfs dump). */
void vf_dump(const struct vfile *f, const char *path);
void fill_pattern(uint8_t *p, size_t len, uint64_t pos, uint32_t seed);

#endif
