/*
 * acl.c: the parts of POSIX ACL semantics that the kernel's FUSE layer
 * leaves to the filesystem: inheriting default ACLs on create, keeping the
 * access ACL in step with chmod, and deriving the mode from a new ACL.
 * The kernel enforces ACLs (FUSE_POSIX_ACL); libext2fs converts between the
 * Linux xattr format handled here and the ext4 on-disk format.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ngfs.h"

/* Linux xattr representation (include/uapi/linux/posix_acl_xattr.h). */
#define ACL_XATTR_VERSION 2
#define ACL_USER_OBJ 0x01
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10
#define ACL_OTHER 0x20

struct acl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
} __attribute__((packed));

static struct acl_entry *entries(const void *value, size_t len, size_t *count)
{
	if (len < 4 || (len - 4) % sizeof(struct acl_entry) ||
	    *(const uint32_t *)value != ACL_XATTR_VERSION)
		return NULL;
	*count = (len - 4) / sizeof(struct acl_entry);
	return (struct acl_entry *)((char *)value + 4);
}

/* Kernel's posix_acl_create_masq(): restrict ACL and mode to each other. */
static int create_masq(struct acl_entry *e, size_t n, mode_t *mode)
{
	struct acl_entry *group_obj = NULL, *mask = NULL;
	mode_t m = *mode;
	int not_equiv = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		switch (e[i].tag) {
		case ACL_USER_OBJ:
			e[i].perm &= (m >> 6) | ~7;
			m &= (e[i].perm << 6) | ~0700;
			break;
		case ACL_USER:
		case ACL_GROUP:
			not_equiv = 1;
			break;
		case ACL_GROUP_OBJ:
			group_obj = &e[i];
			break;
		case ACL_OTHER:
			e[i].perm &= m | ~7;
			m &= e[i].perm | ~7;
			break;
		case ACL_MASK:
			mask = &e[i];
			not_equiv = 1;
			break;
		}
	}
	if (mask) {
		mask->perm &= (m >> 3) | ~7;
		m &= (mask->perm << 3) | ~070;
	} else if (group_obj) {
		group_obj->perm &= (m >> 3) | ~7;
		m &= (group_obj->perm << 3) | ~070;
	}
	*mode = m;
	return not_equiv;
}

int ngfs_acl_inherit(struct ngfs *nf, ext2_ino_t dir, ext2_ino_t ino, mode_t *mode,
		     int *applied)
{
	void *def = NULL, *acc = NULL;
	struct acl_entry *e;
	size_t len, n;
	int ret, not_equiv;

	*applied = 0;
	ret = ngfs_xattr_raw_get(nf, dir, NGFS_ACL_DEFAULT, &def, &len);
	if (ret == ENODATA || ret == EOPNOTSUPP)
		return 0;
	if (ret)
		return ret;
	acc = malloc(len);
	if (!acc) {
		free(def);
		return ENOMEM;
	}
	memcpy(acc, def, len);
	e = entries(acc, len, &n);
	if (!e) {
		ret = ngfs_corrupt(nf, "acl_inherit", dir, "malformed default ACL");
		goto out;
	}
	*applied = 1;
	not_equiv = create_masq(e, n, mode);
	if (ino) {
		if (not_equiv)
			ret = ngfs_xattr_raw_set(nf, ino, NGFS_ACL_ACCESS, acc, len);
		if (!ret && S_ISDIR(*mode))
			ret = ngfs_xattr_raw_set(nf, ino, NGFS_ACL_DEFAULT, def, len);
	}
out:
	free(def);
	free(acc);
	return ret;
}

/* Kernel's __posix_acl_chmod(): the base entries follow the new mode. */
int ngfs_acl_chmod(struct ngfs *nf, ext2_ino_t ino, mode_t mode)
{
	struct acl_entry *e, *group_obj = NULL, *mask = NULL;
	void *value;
	size_t len, n, i;
	int ret = ngfs_xattr_raw_get(nf, ino, NGFS_ACL_ACCESS, &value, &len);

	if (ret == ENODATA || ret == EOPNOTSUPP)
		return 0;
	if (ret)
		return ret;
	e = entries(value, len, &n);
	if (!e) {
		free(value);
		return ngfs_corrupt(nf, "acl_chmod", ino, "malformed access ACL");
	}
	for (i = 0; i < n; i++) {
		switch (e[i].tag) {
		case ACL_USER_OBJ:
			e[i].perm = (mode >> 6) & 7;
			break;
		case ACL_GROUP_OBJ:
			group_obj = &e[i];
			break;
		case ACL_MASK:
			mask = &e[i];
			break;
		case ACL_OTHER:
			e[i].perm = mode & 7;
			break;
		}
	}
	if (mask)
		mask->perm = (mode >> 3) & 7;
	else if (group_obj)
		group_obj->perm = (mode >> 3) & 7;
	ret = ngfs_xattr_raw_set(nf, ino, NGFS_ACL_ACCESS, value, len);
	free(value);
	return ret;
}

/* Kernel's posix_acl_equiv_mode(). */
int ngfs_acl_mode_from_xattr(const void *value, size_t len, mode_t *mode,
			     int *equivalent)
{
	struct acl_entry *e = entries(value, len, &len);
	mode_t m = 0;
	size_t i;

	if (!e)
		return EINVAL;
	*equivalent = 1;
	for (i = 0; i < len; i++) {
		switch (e[i].tag) {
		case ACL_USER_OBJ:
			m |= (e[i].perm & 7) << 6;
			break;
		case ACL_GROUP_OBJ:
			m |= (e[i].perm & 7) << 3;
			break;
		case ACL_OTHER:
			m |= e[i].perm & 7;
			break;
		case ACL_MASK:
			m = (m & ~070) | ((e[i].perm & 7) << 3);
			*equivalent = 0;
			break;
		case ACL_USER:
		case ACL_GROUP:
			*equivalent = 0;
			break;
		default:
			return EINVAL;
		}
	}
	*mode = m;
	return 0;
}
