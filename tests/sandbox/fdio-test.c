/*
 * fdio-test: unit test of the device bounds of lib/io/fdio.c.  A 1 MiB
 * file stands for a whole disk; the "filesystem" starts at 512 KiB
 * (offset=) and the file's end is the device's end.  Every kind of I/O
 * (io_manager block reads and writes, zeroout, discard, the byte-granular
 * fdio_pread/pwrite/zero of the data path) must work up to the end and be
 * refused past it, whatever the block number (overflow included), and
 * the file must keep its size and every byte the test did not write.
 * One line per check, "ok - ..." or "not ok - ..."; exit 1 on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "io/fdio.h"

#define DISK	(1024 * 1024)
#define OFFSET	(512 * 1024)
#define BS	4096
#define NBLK	((DISK - OFFSET) / BS)

static int nchecks, nfailed;

static void __attribute__((format(printf, 2, 3))) check(int cond, const char *fmt, ...)
{
	va_list ap;

	nchecks++;
	nfailed += !cond;
	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int main(int argc, char **argv)
{
	static unsigned char disk[DISK], now[DISK], blk[2 * BS], back[BS];
	struct fdio_target t = { .writable = 1, .offset = OFFSET, .image_fd = -1 };
	const char *path = argc > 1 ? argv[1] : "fdio-test.img";
	char name[96];
	io_channel ch;
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; i < DISK; i++)
		disk[i] = (unsigned char)(i * 131 + 7);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, disk, DISK, 0) != DISK) {
		perror(path);
		return 1;
	}
	t.fd = fd;
	fdio_name(&t, name, sizeof(name));
	if (fdio_io_manager->open(name, IO_FLAG_RW, &ch)) {
		fprintf(stderr, "fdio open failed\n");
		return 1;
	}
	io_channel_set_blksize(ch, BS);
	check(fdio_size(ch) == DISK - OFFSET, "fdio_size is the file size minus the offset");

	/* Inside: the last block is writable and reads back. */
	memset(blk, 0xa5, sizeof(blk));
	check(!io_channel_write_blk64(ch, NBLK - 1, 1, blk), "write of the last block");
	memcpy(disk + OFFSET + (NBLK - 1) * BS, blk, BS);
	check(!io_channel_read_blk64(ch, NBLK - 1, 1, back) && !memcmp(back, blk, BS),
	      "read of the last block");

	/* Past the end: refused, nothing written. */
	check(io_channel_write_blk64(ch, NBLK, 1, blk) != 0, "write of the block after the end");
	check(io_channel_write_blk64(ch, NBLK - 1, 2, blk) != 0,
	      "write straddling the end (nothing of it written)");
	check(io_channel_read_blk64(ch, NBLK, 1, back) != 0, "read of the block after the end");
	check(io_channel_write_blk64(ch, 1ULL << 52, 1, blk) != 0,
	      "write at block 2^52 (block * 4096 wraps to 0)");
	check(io_channel_write_blk64(ch, (1ULL << 52) + 1, 1, blk) != 0,
	      "write at block 2^52 + 1 (wraps to block 1)");
	check(io_channel_write_byte(ch, DISK - OFFSET - 2, 4, blk) != 0,
	      "write_byte straddling the end");
	check(io_channel_zeroout(ch, NBLK - 1, 2) != 0, "zeroout straddling the end");
	check(io_channel_discard(ch, NBLK - 1, 2) != 0, "discard straddling the end");
	check(fdio_pwrite(ch, blk, 20, DISK - OFFSET - 10) == ENOSPC,
	      "data path: pwrite straddling the end is ENOSPC");
	check(fdio_pwrite(ch, blk, 1, UINT64_MAX) == ENOSPC, "data path: pwrite at 2^64-1");
	check(fdio_zero(ch, DISK - OFFSET - BS, 2 * BS) == ENOSPC,
	      "data path: zero straddling the end is ENOSPC (nothing zeroed)");
	check(fdio_pread(ch, back, 20, DISK - OFFSET - 10) != 0,
	      "data path: pread straddling the end");
	check(!fdio_pwrite(ch, "xyz", 3, DISK - OFFSET - 3), "data path: pwrite of the last bytes");
	memcpy(disk + DISK - 3, "xyz", 3);

	io_channel_close(ch);
	check(fstat(fd, &st) == 0 && st.st_size == DISK, "the file keeps its size (%lld)",
	      (long long)st.st_size);
	check(pread(fd, now, DISK, 0) == DISK && !memcmp(now, disk, DISK),
	      "every byte the test did not write is unchanged");
	close(fd);
	unlink(path);
	printf("# %d checks, %d failed\n", nchecks, nfailed);
	return nfailed ? 1 : 0;
}
