#!/bin/bash
# bench/journal.sh: the cost of journaled writes (-o journal_writes).
#   append-fsync   2,000 x (4 KiB append + fsync) of one file
#   cp -a SRC      a tree copy (default /usr/include), then syncfs
#   rm -rf         of that tree, then syncfs
# rows: kernel ext4 (loop, journaled, data=ordered), fuse2fs-ng with the
# journal, fuse2fs-ng without it (-o nojournal_writes: write-through, one
# flush per fsync), and e2fsprogs' fuse2fs if /usr/bin/fuse2fs exists.
# Fresh identical 1 GiB images (lazy init off).  Needs root.
#   bash bench/journal.sh [COUNT]
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-2000}
SRC=${SRC:-/usr/include}
W=$(mktemp -d /var/tmp/jbench.XXXXXX)
trap 'umount "$W/m" 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir "$W/m"

now() { date +%s.%N; }
fresh() {
    rm -f "$W/img"
    truncate -s 1G "$W/img"
    mke2fs -q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0 "$W/img"
}
appends() {
    python3 - "$1" "$COUNT" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
blk = b"a" * 4096
t = time.monotonic()
for _ in range(int(sys.argv[2])):
    os.write(fd, blk)
    os.fsync(fd)
print("%.2f" % (time.monotonic() - t))
PY
}
row() {    # NAME MOUNT-COMMAND...
    local name=$1 t0 t1 t2 t3 app
    shift
    fresh
    "$@"
    app=$(appends "$W/m/appended")
    t0=$(now)
    cp -a "$SRC" "$W/m/tree"
    sync -f "$W/m"
    t1=$(now)
    rm -rf "$W/m/tree"
    sync -f "$W/m"
    t2=$(now)
    umount "$W/m"
    e2fsck -fn "$W/img" > /dev/null 2>&1 || echo "bench: $name: e2fsck -fn not clean" >&2
    printf '%-22s %10s %10.2f %10.2f\n' "$name" "$app" "$(echo "$t1 - $t0" | bc)" \
        "$(echo "$t2 - $t1" | bc)"
}
printf '%-22s %10s %10s %10s\n' "seconds" "app+fsync" "cp -a" "rm -rf"
printf '%-22s %10s %10s %10s\n' "" "x$COUNT" "$(basename "$SRC")" ""
row kernel-ext4 mount -o loop "$W/img" "$W/m"
row ng-journal "$TOP/misc/fuse2fs" -o journal_writes "$W/img" "$W/m"
row ng-nojournal "$TOP/misc/fuse2fs" -o nojournal_writes "$W/img" "$W/m"
if [ -x /usr/bin/fuse2fs ]; then
    row e2fs-fuse2fs /usr/bin/fuse2fs "$W/img" "$W/m"
fi
