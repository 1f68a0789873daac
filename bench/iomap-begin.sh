#!/bin/bash
# IOMAP_BEGIN requests per second for a file with a deep extent tree
# (depth 2: thousands of extents), against kernel ext4's single-extent
# FIEMAP lookups on the same file as the reference.  Runs on any kernel: the
# daemon is driven through a socketpair (bench/iomap_begin.c plays the
# kernel), with tests/iomap/devshim.so answering the device registration.
#
#   bash bench/iomap-begin.sh [COUNT]     (as root, after make && make check)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-200000}
W=$(mktemp -d)
trap 'umount "$W/m" 2>/dev/null || true; rm -rf "$W"' EXIT
gcc -O2 -Wall -o "$W/iomap_begin" "$TOP/bench/iomap_begin.c"
SHIM=$TOP/tests/iomap/devshim.so
[ -f "$SHIM" ] || make -C "$TOP" tests/iomap/devshim.so >/dev/null

truncate -s 1G "$W/img"
mke2fs -q -F -t ext4 "$W/img"
mkdir "$W/m"
mount -o loop "$W/img" "$W/m"
# Every other 4 KiB block written: 20000 one-block extents, a depth-2 tree.
python3 - "$W/m/deep" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
blk = b"x" * 4096
for i in range(20000):
    os.pwrite(fd, blk, i * 2 * 4096)
os.close(fd)
PY
sync
kernel=$("$W/iomap_begin" fiemap "$W/m/deep" "$COUNT")
umount "$W/m"
tree=$(debugfs -R "ex /deep" "$W/img" 2>/dev/null)
depth=$(echo "$tree" | awk 'NR==2{print $2}')
extents=$(echo "$tree" | awk -v d="$depth" '$1 == d"/" && $2 == d {n++} END{print n+0}')
echo "file /deep: $extents extents, extent tree depth $depth"
ours=$("$W/iomap_begin" daemon "$TOP/misc/fuse2fs" "$SHIM" "$W/img" deep "$COUNT")
echo "kernel ext4   $kernel"
echo "fuse2fs-ng    $ours"
k=$(echo "$kernel" | awk '{print $(NF-2)}')
o=$(echo "$ours" | awk '{print $(NF-2)}')
echo "ratio fuse2fs-ng / kernel ext4 lookups: $(awk -v o="$o" -v k="$k" 'BEGIN{printf "%.3f", o/k}')"
e2fsck -fn "$W/img" >/dev/null || { echo "e2fsck not clean after the run"; exit 1; }
