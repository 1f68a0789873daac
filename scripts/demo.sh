#!/bin/bash
# fuse2fs-ng demo: make a small ext4 image, mount it with ./misc/fuse2fs,
# read and write through the mount, unmount, and check the image offline
# with e2fsck and debugfs.  Needs root (FUSE mount, loop device).
#
# Environment:
#   FUSE2FS   daemon to run (default: misc/fuse2fs in this tree)
#   KEEP=1    keep the scratch directory (image) for inspection
#
# Exit status: 0 when every step passed, non-zero at the first failure.
set -Eeuo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUSE2FS=${FUSE2FS:-$TOP/misc/fuse2fs}

STEP=0
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
STEPNAME=""
step() { STEP=$((STEP + 1)); STEPNAME=$*; printf '\n%s==== [%d] %s ====%s\n' "$B" "$STEP" "$*" "$N"; }
ok()   { printf '  ok: %s\n' "$*"; }
die()  { printf '\nDEMO FAILED: %s\n' "$*" >&2; exit 1; }
run()  { printf '  $ %s\n' "$*"; "$@"; }

[ "$(id -u)" -eq 0 ] || die "the demo mounts a filesystem and needs root (try: sudo $0)"
[ -x "$FUSE2FS" ] || die "$FUSE2FS not found or not executable: build first (./scripts/setup-and-demo.sh or make)"
for t in mke2fs e2fsck debugfs dumpe2fs losetup umount flock; do
    command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
done

WORK=$(mktemp -d /tmp/fuse2fs-ng-demo.XXXXXX)
IMG=$WORK/demo.img
MNT=$WORK/mnt
SEED=$WORK/seed

is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }

# Wait until the daemon has let go of the image: it holds an exclusive
# flock on it until everything is written; also wait for any process that
# still has it open (a daemon without that lock).
wait_released() {
    local img=$1 pids
    timeout 60 flock "$img" true || return 1
    for _ in $(seq 600); do
        pids=$(find /proc/[0-9]*/fd -lname "$img" 2>/dev/null | cut -d/ -f3 | sort -u)
        [ -z "$pids" ] && return 0
        sleep 0.1
    done
    echo "  image still held open by pid(s): $pids" >&2
    return 1
}

cleanup() {
    local rc=$? loop
    trap - EXIT INT TERM
    if is_mounted "$MNT"; then
        echo "cleanup: unmounting $MNT" >&2
        umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
    fi
    if [ -e "$IMG" ]; then
        wait_released "$IMG" 2>/dev/null || true
        for loop in $(losetup -j "$IMG" -O NAME -n 2>/dev/null); do
            echo "cleanup: detaching $loop" >&2
            losetup -d "$loop" 2>/dev/null || true
        done
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept scratch directory $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "DEMO FAILED in step $STEP ($STEPNAME): a command above failed" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

echo "fuse2fs-ng demo"
echo "  daemon:  $FUSE2FS ($("$FUSE2FS" -V 2>&1 | head -n1 || true))"
echo "  scratch: $WORK"

# ---------------------------------------------------------------------------
step "Create a 32 MiB ext4 image with a few files (mke2fs -d)"
mkdir -p "$SEED/docs/notes" "$MNT"
printf 'Hello from an ext4 image made by mke2fs.\n' > "$SEED/hello.txt"
printf '# notes\nThis file lives two directories down.\n' > "$SEED/docs/notes/todo.md"
seq 1 20000 > "$SEED/docs/numbers.txt"
ln -s docs/numbers.txt "$SEED/numbers-link"
chmod 0600 "$SEED/hello.txt"
truncate -s 32M "$IMG"
run mke2fs -q -F -t ext4 -L ng-demo -E root_owner=0:0 -d "$SEED" "$IMG"
dumpe2fs -h "$IMG" 2>/dev/null | grep -E '^(Filesystem volume name|Filesystem features|Block size|Block count):' | sed 's/^/  /'

# ---------------------------------------------------------------------------
step "Mount it with fuse2fs-ng"
run "$FUSE2FS" "$IMG" "$MNT" || die "fuse2fs exited with status $?"
is_mounted "$MNT" || die "$MNT is not in /proc/mounts after fuse2fs returned"
awk -v m="$MNT" '$2 == m { print "  /proc/mounts: " $0 }' /proc/mounts
loops=$(losetup -j "$IMG" -O NAME -n 2>/dev/null | tr '\n' ' ')
[ -n "$loops" ] && echo "  image is attached to loop device(s): $loops"
ok "mounted"

# ---------------------------------------------------------------------------
step "List the tree through the mount"
run ls -lR "$MNT"
cmp "$SEED/docs/numbers.txt" "$MNT/docs/numbers.txt" || die "docs/numbers.txt differs from what mke2fs stored"
[ "$(readlink "$MNT/numbers-link")" = docs/numbers.txt ] || die "symlink target wrong"
cmp "$SEED/docs/numbers.txt" "$MNT/numbers-link" || die "reading through the symlink failed"
ok "seeded files and symlink read back identical"

# ---------------------------------------------------------------------------
step "Write a new directory and files through the mount"
NEW_TEXT="written through FUSE by fuse2fs-ng at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
run mkdir "$MNT/newdir"
printf '%s\n' "$NEW_TEXT" > "$MNT/newdir/new.txt"
echo "  \$ printf '...' > $MNT/newdir/new.txt"
head -c 3M /dev/urandom > "$WORK/random.bin"
run cp "$WORK/random.bin" "$MNT/newdir/random.bin"
run sync "$MNT/newdir/random.bin"
ok "wrote newdir/new.txt and a 3 MiB newdir/random.bin"

# ---------------------------------------------------------------------------
step "Read them back"
run ls -l "$MNT/newdir"
echo "  \$ cat $MNT/newdir/new.txt"
sed 's/^/    /' "$MNT/newdir/new.txt"
[ "$(cat "$MNT/newdir/new.txt")" = "$NEW_TEXT" ] || die "new.txt reads back wrong"
cmp "$WORK/random.bin" "$MNT/newdir/random.bin" || die "random.bin reads back wrong"
ok "contents match what was written"

# ---------------------------------------------------------------------------
step "Unmount"
t0=$(date +%s.%N)
run umount "$MNT" || die "umount failed"
t1=$(date +%s.%N)
is_mounted "$MNT" && die "$MNT still mounted after umount"
printf '  umount returned after %.2f s\n' "$(echo "$t1 $t0" | awk '{print $1 - $2}')"
wait_released "$IMG" || die "the daemon did not release $IMG"
# The loop device (autoclear) goes away once the kernel and the daemon have
# both closed it; give the daemon a moment to exit.
for _ in $(seq 100); do
    left=$(losetup -j "$IMG" -O NAME -n 2>/dev/null | tr '\n' ' ')
    [ -z "$left" ] && break
    sleep 0.1
done
[ -z "$left" ] || die "loop device(s) still attached after unmount: $left"
ok "unmounted; the daemon has released the image and no loop device is left"

# ---------------------------------------------------------------------------
step "Check the image offline: e2fsck -fn"
set +e
fsck_out=$(e2fsck -fn "$IMG" 2>&1)
fsck_rc=$?
set -e
printf '%s\n' "$fsck_out" | sed 's/^/  | /'
[ "$fsck_rc" -eq 0 ] || die "e2fsck -fn exited with $fsck_rc: the filesystem is not clean"
ok "e2fsck exit status 0: the filesystem is clean"

# ---------------------------------------------------------------------------
step "Read the new file straight from the image: debugfs"
echo "  \$ debugfs -R \"cat /newdir/new.txt\" $IMG"
on_disk=$(debugfs -R "cat /newdir/new.txt" "$IMG" 2>/dev/null)
printf '%s\n' "$on_disk" | sed 's/^/    /'
[ "$on_disk" = "$NEW_TEXT" ] || die "debugfs shows different content for /newdir/new.txt"
debugfs -R "dump /newdir/random.bin $WORK/random.out" "$IMG" >/dev/null 2>&1
cmp "$WORK/random.bin" "$WORK/random.out" || die "random.bin on disk differs from what was written"
ok "on-disk contents match (new.txt and the 3 MiB random.bin)"

printf '\n%sDEMO PASSED%s: mounted, listed, wrote, read back, unmounted, fsck clean.\n' "$B" "$N"
