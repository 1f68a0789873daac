/*
 * node.c: what the kernel holds.  Each inode the kernel has looked up has a
 * lookup count (decremented by FORGET) and an open count.  An inode whose
 * last name is removed while the kernel still holds it goes on the on-disk
 * orphan list (s_last_orphan, chained through i_dtime, as the kernel's ext4
 * does), so a crash leaves e2fsck something to finish; it is freed when the
 * last reference goes, or at unmount.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ngfs.h"

static size_t bucket(struct ngfs *nf, ext2_ino_t ino)
{
	return ino % nf->nbuckets;
}

static struct ngfs_node *node_find(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *n;

	/*
	 * After close (DESTROY) the table is gone, but with several serving
	 * threads a FORGET batch of the same umount can still come in (seen
	 * under ASan on the corpus): there is nothing left to forget.
	 */
	if (!nf->nodes)
		return NULL;
	for (n = nf->nodes[bucket(nf, ino)]; n; n = n->hnext)
		if (n->ino == ino)
			return n;
	return NULL;
}

int ngfs_node_known(struct ngfs *nf, ext2_ino_t ino)
{
	return node_find(nf, ino) != NULL;
}

/*
 * The table grows with what the kernel holds (a walk of a million inodes
 * keeps most of them in its inode cache): past two nodes a bucket, four
 * times the buckets.  Without memory the chains just get longer.
 */
static void grow(struct ngfs *nf)
{
	size_t nb = nf->nbuckets * 4, i;
	struct ngfs_node **b = calloc(nb, sizeof(*b)), *n;

	if (!b)
		return;
	for (i = 0; i < nf->nbuckets; i++) {
		while ((n = nf->nodes[i])) {
			nf->nodes[i] = n->hnext;
			n->hnext = b[n->ino % nb];
			b[n->ino % nb] = n;
		}
	}
	free(nf->nodes);
	nf->nodes = b;
	nf->nbuckets = nb;
}

struct ngfs_node *ngfs_node_get(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *n = node_find(nf, ino);

	if (n || !nf->nodes)
		return n;
	if (nf->nnodes >= 2 * nf->nbuckets)
		grow(nf);
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->ino = ino;
	n->hnext = nf->nodes[bucket(nf, ino)];
	nf->nodes[bucket(nf, ino)] = n;
	if (++nf->nnodes > nf->nodes_peak)
		nf->nodes_peak = nf->nnodes;
	if (nf->node_limit && nf->nnodes > nf->node_limit && nf->nodes_over)
		nf->nodes_over(nf);
	return n;
}

size_t ngfs_nodes_pick(struct ngfs *nf, uint64_t *out, size_t max)
{
	size_t got = 0, seen;
	struct ngfs_node *n;

	if (!nf->nodes)
		return 0;
	for (seen = 0; seen < nf->nbuckets && got < max; seen++) {
		size_t b = nf->prune_cursor++ % nf->nbuckets;

		for (n = nf->nodes[b]; n && got < max; n = n->hnext)
			if (n->nlookup && !n->nopen && !n->orphan && n->ino != EXT2_ROOT_INO)
				out[got++] = n->ino;
	}
	return got;
}

static void node_unhash(struct ngfs *nf, struct ngfs_node *node)
{
	struct ngfs_node **pp;

	for (pp = &nf->nodes[bucket(nf, node->ino)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == node) {
			*pp = node->hnext;
			nf->nnodes--;
			free(node);
			return;
		}
	}
}

struct names {
	char **v;
	size_t n;
};

static int collect_name(char *name, char *value, size_t value_len, void *data)
{
	struct names *names = data;
	char **v = realloc(names->v, (names->n + 1) * sizeof(*v));

	if (!v || !(v[names->n] = strdup(name))) {
		free(v ? v : names->v);
		names->v = NULL;
		names->n = 0;
		return XATTR_ABORT;
	}
	names->v = v;
	names->n++;
	return 0;
}

/*
 * Remove every xattr, so values kept in xattr inodes (ea_inode) lose their
 * reference too; freeing only the xattr block would leave them unattached.
 */
static errcode_t drop_xattrs(struct ngfs *nf, ext2_ino_t ino)
{
	struct ext2_xattr_handle *h;
	struct names names = { NULL, 0 };
	errcode_t err;
	size_t i;

	err = ext2fs_xattrs_open(nf->fs, ino, &h);
	if (err == EXT2_ET_MISSING_EA_FEATURE)
		return 0;
	if (err)
		return err;
	err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattrs_iterate(h, collect_name, &names);
	for (i = 0; i < names.n; i++) {
		if (!err && strcmp(names.v[i], "system.data"))
			err = ext2fs_xattr_remove(h, names.v[i]);
		free(names.v[i]);
	}
	free(names.v);
	ext2fs_xattrs_close(&h);
	return err;
}

/* Give back the blocks, xattrs and inode of an inode without links. */
int ngfs_free_inode(struct ngfs *nf, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	errcode_t err;
	int ret;

	/* Refuse before the first change: a half-freed inode is worse. */
	if ((ret = ngfs_validate_freeable(nf, ino, "free_inode")))
		return ret;
	err = drop_xattrs(nf, ino);
	if (err)
		return ngfs_errno(nf, err, "free_inode", ino);
	ret = ngfs_read_inode(nf, ino, &inode);
	if (ret)
		return ret;
	if (ext2fs_inode_has_valid_blocks2(nf->fs, (struct ext2_inode *)&inode) &&
	    (ret = ngfs_punch_tail(nf, ino, &inode, 0, NGFS_SIZE_KEEP)))
		return ret;
	if (ext2fs_file_acl_block(nf->fs, (struct ext2_inode *)&inode)) {
		err = ext2fs_free_ext_attr(nf->fs, ino, &inode);
		if (err)
			return ngfs_errno(nf, err, "free_inode", ino);
	}
	inode.i_links_count = 0;
	inode.i_dtime = time(NULL);
	ret = ngfs_write_inode(nf, ino, &inode);
	if (ret)
		return ret;
	ext2fs_inode_alloc_stats2(nf->fs, ino, -1, LINUX_S_ISDIR(inode.i_mode));
	ngfs_dcache_drop(nf, ino);	/* the inode number may come back as a new directory */
	nf->dirty = 1;
	return 0;
}

static int orphan_add(struct ngfs *nf, struct ngfs_node *node,
		      struct ext2_inode_large *inode)
{
	inode->i_dtime = nf->fs->super->s_last_orphan;
	nf->fs->super->s_last_orphan = node->ino;
	ext2fs_mark_super_dirty(nf->fs);
	node->orphan = 1;
	node->onext = nf->orphans;
	nf->orphans = node;
	return ngfs_write_inode(nf, node->ino, inode);
}

static int orphan_remove(struct ngfs *nf, struct ngfs_node *node)
{
	struct ngfs_node **pp, *prev = NULL;
	ext2_ino_t next = node->onext ? node->onext->ino : 0;
	struct ext2_inode_large inode;
	int err;

	for (pp = &nf->orphans; *pp && *pp != node; pp = &(*pp)->onext)
		prev = *pp;
	if (!*pp)
		return 0;
	*pp = node->onext;
	node->orphan = 0;
	if (!prev) {
		nf->fs->super->s_last_orphan = next;
		ext2fs_mark_super_dirty(nf->fs);
		return 0;
	}
	err = ngfs_read_inode(nf, prev->ino, &inode);
	if (err)
		return err;
	inode.i_dtime = next;
	return ngfs_write_inode(nf, prev->ino, &inode);
}

/* The last reference to NODE may be gone: free what nobody can reach. */
static void node_maybe_release(struct ngfs *nf, struct ngfs_node *node)
{
	if (node->nlookup || node->nopen)
		return;
	/* Free first: if that fails the inode stays on the orphan list for e2fsck. */
	if (node->orphan && !nf->readonly && !ngfs_free_inode(nf, node->ino))
		orphan_remove(nf, node);
	if (!node->orphan)
		node_unhash(nf, node);
}

void ngfs_node_lookup(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *n = ngfs_node_get(nf, ino);

	if (n)
		n->nlookup++;
}

void ngfs_node_forget(struct ngfs *nf, ext2_ino_t ino, uint64_t nlookup)
{
	struct ngfs_node *n = node_find(nf, ino);

	if (!n)
		return;
	n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
	node_maybe_release(nf, n);
}

void ngfs_node_open(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *n = ngfs_node_get(nf, ino);

	if (n)
		n->nopen++;
}

void ngfs_node_release(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *n = node_find(nf, ino);

	if (!n)
		return;
	if (n->nopen)
		n->nopen--;
	node_maybe_release(nf, n);
}

/*
 * Can INO be freed?  Its xattrs must be readable and its block map sound:
 * freeing them is part of freeing the inode, and failing half-way would
 * leave it half-freed.
 */
int ngfs_check_freeable(struct ngfs *nf, ext2_ino_t ino)
{
	struct ext2_xattr_handle *h;
	errcode_t err;
	int ret;

	/* and its blocks: the extent tree or block map, the xattr block */
	if ((ret = ngfs_validate_freeable(nf, ino, "unlink")))
		return ret;
	err = ext2fs_xattrs_open(nf->fs, ino, &h);

	if (err == EXT2_ET_MISSING_EA_FEATURE)
		return 0;
	if (!err) {
		err = ext2fs_xattrs_read(h);
		ext2fs_xattrs_close(&h);
	}
	return ngfs_errno(nf, err, "unlink", ino);
}

/*
 * One name of INODE is gone (the caller already removed the directory
 * entry and updated INODE's link count).  Writes INODE.
 */
int ngfs_drop_link(struct ngfs *nf, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	struct ngfs_node *node;

	ngfs_touch(nf, inode, 0);
	if (inode->i_links_count)
		return ngfs_write_inode(nf, ino, inode);
	node = node_find(nf, ino);
	if (node && (node->nlookup || node->nopen))
		return orphan_add(nf, node, inode);
	{
		int err = ngfs_write_inode(nf, ino, inode);
		return err ? err : ngfs_free_inode(nf, ino);
	}
}

/*
 * A new inode without a name (O_TMPFILE, links 0): on the orphan list, so
 * it is freed when the kernel lets go of it, or by e2fsck after a crash,
 * unless linkat gives it a name first.
 */
int ngfs_orphan_new(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *node = ngfs_node_get(nf, ino);
	struct ext2_inode_large inode;
	int err;

	if (!node)
		return ENOMEM;
	if ((err = ngfs_read_inode(nf, ino, &inode)))
		return err;
	node->linkable = 1;
	return orphan_add(nf, node, &inode);
}

/* May INO, which has no links, get a name?  Only an O_TMPFILE file may. */
int ngfs_node_linkable(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *n = node_find(nf, ino);

	return n && n->linkable && n->orphan;
}

/* INO got its first name: off the orphan list (the caller clears i_dtime). */
int ngfs_node_linked(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *n = node_find(nf, ino);

	if (!n || !n->orphan)
		return 0;
	n->linkable = 0;	/* as the kernel's I_LINKABLE: once */
	return orphan_remove(nf, n);
}

/* Is INO (a node the kernel holds) on the orphan list? */
int ngfs_node_orphaned(struct ngfs *nf, ext2_ino_t ino)
{
	struct ngfs_node *n = node_find(nf, ino);

	return n && n->orphan;
}

/* Unmount: nobody holds anything any more. */
int ngfs_release_orphans(struct ngfs *nf)
{
	int ret = 0;

	while (nf->orphans) {
		struct ngfs_node *n = nf->orphans;
		int err = ngfs_free_inode(nf, n->ino);
		if (!err)
			err = orphan_remove(nf, n);
		if (err && !ret)
			ret = err;
		if (err)
			break;
	}
	return ret;
}

void ngfs_nodes_free(struct ngfs *nf)
{
	size_t i;

	for (i = 0; nf->nodes && i < nf->nbuckets; i++) {
		while (nf->nodes[i]) {
			struct ngfs_node *n = nf->nodes[i];
			nf->nodes[i] = n->hnext;
			free(n);
		}
	}
	free(nf->nodes);
	nf->nodes = NULL;
	ngfs_dcache_free(nf);
	nf->nnodes = 0;
}
