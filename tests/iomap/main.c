/*
 * client: plays the Linux kernel's part of the FUSE iomap protocol (RFC v3)
 * against the real fuse2fs daemon over a SOCK_SEQPACKET socketpair.
 *
 *   client [options] scenarios [NAME...]   fixed scenarios (default: all)
 *   client [options] random --seed S --ops N
 *   client [options] badinput
 *   client [options] corrupt NAME...        files with a damaged extent tree
 *   client [options] classic                the daemon must stay classic
 *   client [options] refuse                 the daemon must refuse to start
 *   client fscheck IMAGE RECORD             after-run mapping check
 *
 * Options: --image IMG (required), --fuse2fs PATH ($FUSE2FS),
 *   --shim PATH ($IOMAP_SHIM), -o OPTS (daemon -o, default iomap=1),
 *   --offer-iomap 0|1 (default 1), --expect-iomap 0|1 (default = offer),
 *   --expect-cache 0|1 (default 1: UPSERTs expected), --record FILE,
 *   --dump-dir DIR (random: write each file's expected content there),
 *   --files N, --maxsize BYTES, --paranoid (random: after every op, compare
 *   the file's REPORT mappings and device blocks with the model), -v, -vv.
 * Exit 0 on success; on failure one line "FAIL [scenario] ..." on stderr.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <ext2fs/ext2fs.h>

#include "client.h"

struct opts O;
static struct counters totals;

static void add_totals(const struct counters *c)
{
	totals.begin += c->begin;
	totals.begin_cached += c->begin_cached;
	totals.end += c->end;
	totals.ioend += c->ioend;
	totals.read += c->read;
	totals.write += c->write;
	totals.upsert += c->upsert;
	totals.inval += c->inval;
	totals.null_retry += c->null_retry;
}

static void print_counts(const char *label, const struct counters *c)
{
	printf("[%s] upcalls: BEGIN=%lu (cache hits %lu, NULL retries %lu) END=%lu IOEND=%lu READ=%lu WRITE=%lu; notifications: UPSERT=%lu INVAL=%lu\n",
	       label, c->begin, c->begin_cached, c->null_retry, c->end, c->ioend, c->read, c->write,
	       c->upsert, c->inval);
	fflush(stdout);
}

void scenario_begin(struct kernel *k, const char *name)
{
	add_totals(&k->c.cnt);
	memset(&k->c.cnt, 0, sizeof(k->c.cnt));
	snprintf(g_scenario, sizeof(g_scenario), "%s", name);
}

void scenario_end(struct kernel *k)
{
	print_counts(g_scenario, &k->c.cnt);
}

struct kmap map_at(struct kernel *k, struct kinode *ip, uint32_t op, uint64_t pos, uint64_t count)
{
	struct kmap im, sm;
	int err = k_begin(k, ip, op, pos, count, &im, &sm);

	if (err)
		fail("BEGIN op 0x%x node %llu pos %llu: %s", op, (unsigned long long)ip->nodeid,
		     (unsigned long long)pos, strerror(-err));
	return im;
}

static void usage(void)
{
	fprintf(stderr, "usage: client [--image IMG] [--fuse2fs PATH] [--shim PATH] [-o OPTS] "
		"[--offer-iomap 0|1] [--expect-iomap 0|1] [--expect-cache 0|1] [--record FILE] "
		"[--dump-dir DIR] [--seed S] [--ops N] [--files N] [--maxsize B] [-v] "
		"scenarios [NAME...] | random | badinput | corrupt NAME... | classic | refuse | "
		"fscheck IMAGE RECORD\n");
	exit(2);
}

static void image_features(void)
{
	ext2_filsys fs;

	if (ext2fs_open(O.image, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs))
		fail("libext2fs cannot open %s", O.image);
	O.fs_extents = ext2fs_has_feature_extents(fs->super);
	O.fs_inline = ext2fs_has_feature_inline_data(fs->super);
	ext2fs_close_free(&fs);
}

/* The daemon's counters line against ours (data must not go through FUSE_READ/WRITE). */
static void check_daemon_counters(struct kernel *k, int strict)
{
	const char *f = k->c.errfile;
	struct { const char *key; long long want; } eq[] = {
		{ "iomap_begin", (long long)totals.begin },
		{ "iomap_end", (long long)totals.end },
		{ "iomap_ioend", (long long)totals.ioend },
		{ "upserts", (long long)totals.upsert },
		{ "invals", (long long)totals.inval },
		{ "data_read_bytes", 0 },
		{ "data_write_bytes", 0 },
		{ "inline_read_bytes", (long long)g_inline_rbytes },
		{ "inline_write_bytes", (long long)g_inline_wbytes },
	};

	if (!k->iomap) {
		long long b = daemon_counter(f, "iomap_begin");
		if (b > 0)
			fail("classic session, but the daemon counted iomap_begin=%lld", b);
		return;
	}
	for (size_t i = 0; i < sizeof(eq) / sizeof(eq[0]); i++) {
		long long v = daemon_counter(f, eq[i].key);
		if (v < 0)
			fail("daemon printed no 'fuse2fs: counters:' value for %s", eq[i].key);
		if (!strict && i < 3)
			continue;	/* bad input: rejected upcalls may or may not count */
		if (v != eq[i].want)
			fail("daemon counter %s=%lld, the client saw %lld", eq[i].key, v, eq[i].want);
	}
	printf("[%s] daemon counters agree: iomap_begin=%lld iomap_end=%lld iomap_ioend=%lld upserts=%lld invals=%lld data_read_bytes=0 data_write_bytes=0 inline_read_bytes=%lld inline_write_bytes=%lld\n",
	       g_scenario, daemon_counter(f, "iomap_begin"), daemon_counter(f, "iomap_end"),
	       daemon_counter(f, "iomap_ioend"), daemon_counter(f, "upserts"),
	       daemon_counter(f, "invals"), daemon_counter(f, "inline_read_bytes"),
	       daemon_counter(f, "inline_write_bytes"));
}

static void dump_err(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  daemon: %s", line);
	fclose(f);
}

/* The daemon is started with iomap required but we offer no iomap bits. */
static int run_refuse(void)
{
	struct conn c;
	struct fuse_init_in in;
	struct fuse_in_header ih;
	unsigned char buf[4096];
	struct iovec iov[2];
	struct msghdr mh;
	struct pollfd p;
	FILE *f;
	int st, named = 0;
	ssize_t n;

	snprintf(g_scenario, sizeof(g_scenario), "refuse");
	conn_start(&c, O.fuse2fs, O.shim, O.image, O.dopts, "devfile.refuse", "daemon.err");
	memset(&in, 0, sizeof(in));
	in.major = 7;
	in.minor = 38;
	in.max_readahead = 131072;
	in.flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_INIT_EXT;
	memset(&ih, 0, sizeof(ih));
	ih.len = sizeof(ih) + sizeof(in);
	ih.opcode = FUSE_INIT;
	ih.unique = 2;
	iov[0] = (struct iovec){ &ih, sizeof(ih) };
	iov[1] = (struct iovec){ &in, sizeof(in) };
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (sendmsg(c.fd, &mh, MSG_NOSIGNAL) < 0)
		note("sending INIT: %s (daemon already gone?)", strerror(errno));
	p = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	if (poll(&p, 1, 30000) > 0 && (n = recv(c.fd, buf, sizeof(buf), 0)) > 0) {
		struct fuse_out_header *oh = (void *)buf;
		if ((size_t)n >= sizeof(*oh) && oh->error == 0)
			fail("daemon with -o %s accepted an INIT that offers no iomap bits", O.dopts);
		note("INIT reply: error %d", (size_t)n >= sizeof(*oh) ? oh->error : 0);
	}
	st = conn_finish(&c, 30);
	f = fopen("daemon.err", "r");
	if (f) {
		char line[1024];
		while (fgets(line, sizeof(line), f))
			if (strcasestr(line, "iomap"))
				named = 1;
		fclose(f);
	}
	dump_err("daemon.err");
	if (st == 0)
		fail("daemon exited 0 although iomap was required and not offered");
	if (!named)
		fail("daemon exited %d without a message naming iomap", st);
	note("daemon refused as expected (exit %d, message names iomap)", st);
	return 0;
}

int main(int argc, char **argv)
{
	struct kernel k;
	const char *cmd;
	int i, st, strict = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	initialize_ext2_error_table();
	memset(&O, 0, sizeof(O));
	O.fuse2fs = getenv("FUSE2FS");
	O.shim = getenv("IOMAP_SHIM");
	O.dopts = "iomap=1";
	O.offer_iomap = 1;
	O.expect_iomap = -1;
	O.expect_cache = 1;
	O.seed = 1;
	O.ops = 10000;
	O.nfiles = 3;
	O.maxsize = 12u << 20;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-v") || !strcmp(a, "-vv")) {
			g_verbose = a[2] ? 2 : 1;
			continue;
		}
		if (!strcmp(a, "--paranoid")) {
			O.paranoid = 1;
			continue;
		}
		if (a[0] != '-')
			break;
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--image")) O.image = v;
		else if (!strcmp(a, "--fuse2fs")) O.fuse2fs = v;
		else if (!strcmp(a, "--shim")) O.shim = v;
		else if (!strcmp(a, "-o")) O.dopts = v;
		else if (!strcmp(a, "--offer-iomap")) O.offer_iomap = atoi(v);
		else if (!strcmp(a, "--expect-iomap")) O.expect_iomap = atoi(v);
		else if (!strcmp(a, "--expect-cache")) O.expect_cache = atoi(v);
		else if (!strcmp(a, "--record")) O.record = v;
		else if (!strcmp(a, "--dump-dir")) O.dump_dir = v;
		else if (!strcmp(a, "--seed")) O.seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--ops")) O.ops = atol(v);
		else if (!strcmp(a, "--files")) O.nfiles = atoi(v);
		else if (!strcmp(a, "--maxsize")) O.maxsize = strtoull(v, NULL, 0);
		else usage();
	}
	if (i >= argc)
		usage();
	cmd = argv[i++];
	/* options may also follow the command (client random --seed S --ops N) */
	while (i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-') {
		if (!strcmp(argv[i], "--seed")) O.seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--ops")) O.ops = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--files")) O.nfiles = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--maxsize")) O.maxsize = strtoull(argv[i + 1], NULL, 0);
		else usage();
		i += 2;
	}
	if (!strcmp(cmd, "fscheck")) {
		if (i + 2 != argc)
			usage();
		snprintf(g_scenario, sizeof(g_scenario), "fscheck");
		return fscheck_run(argv[i], argv[i + 1]);
	}
	if (!O.image || !O.fuse2fs)
		usage();
	if (O.expect_iomap < 0)
		O.expect_iomap = O.offer_iomap;
	image_features();
	if (!strcmp(cmd, "refuse"))
		return run_refuse();
	if (!strcmp(cmd, "classic"))
		O.offer_iomap = 0, O.expect_iomap = 0;

	memset(&k, 0, sizeof(k));
	k.image = O.image;
	k.offer_iomap = O.offer_iomap;
	if (O.record) {
		k.record = fopen(O.record, "w");
		if (!k.record)
			fail("%s: %s", O.record, strerror(errno));
	}
	snprintf(g_scenario, sizeof(g_scenario), "init");
	k_start(&k, O.fuse2fs, O.shim, O.dopts);
	if (O.expect_iomap && !k.iomap)
		fail("the daemon did not negotiate iomap: INIT reply flags 0x%x flags2 0x%x (offered flags2 0x%x); is iomap implemented in this fuse2fs?",
		     k.init_flags, k.init_flags2, W_FUSE2_IOMAP_ALL);
	if (!O.expect_iomap && k.iomap)
		fail("the daemon negotiated iomap (flags2 0x%x) although it should not", k.init_flags2);
	if (k.iomap && (k.init_flags2 & W_FUSE2_IOMAP_ALL) != W_FUSE2_IOMAP_ALL)
		fail("the daemon accepted only flags2 0x%x of the iomap bits", k.init_flags2);
	if (k.iomap && k.config_enosys)
		fail("the daemon answers IOMAP_CONFIG with ENOSYS");
	scenario_end(&k);

	if (!strcmp(cmd, "scenarios") || !strcmp(cmd, "classic")) {
		run_scenarios(&k, argc - i, argv + i);
	} else if (!strcmp(cmd, "random")) {
		run_random(&k);
	} else if (!strcmp(cmd, "badinput")) {
		run_badinput(&k);
		strict = 0;
	} else if (!strcmp(cmd, "corrupt")) {
		run_corrupt(&k, argc - i, argv + i);
		strict = 0;
	} else {
		usage();
	}

	scenario_begin(&k, "shutdown");
	if (strict)
		record_final(&k);
	st = k_shutdown(&k);
	scenario_end(&k);
	add_totals(&k.c.cnt);
	print_counts("total", &totals);
	if (st != 0) {
		dump_err(k.c.errfile);
		fail("daemon exit status %d after DESTROY, expected 0", st);
	}
	if (!O.expect_cache && totals.upsert)
		fail("iomap_cache=0 but the daemon sent %lu UPSERTs", totals.upsert);
	check_daemon_counters(&k, strict);
	k_free(&k);
	printf("PASS %s\n", cmd);
	return 0;
}
