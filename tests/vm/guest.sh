#!/bin/bash
# Runs inside the VM (tests/vm/case.sh boots it).  /dev/vda is the image
# under test, /dev/vdb the reference image for kernel ext4; both were made
# on the host with the same mkfs options.
#
#   guest.sh OUTDIR FSTYPE OPTS MODE TREE...
#
# FSTYPE: the mount type expected for our daemon (fuseblk or fuse).  MODE:
# iomap or classic (FIEMAP needs iomap: only then does io.sh check it).
# OPTS: -o options for fuse2fs (kernel,... is added).  TREE: directories to
# copy (cp -a) into both filesystems.  Environment: FUSE2FS, WORKLOAD, TOP,
# VM_EXTRA (a script run on both mounts, like io.sh: DIR B OUTPREFIX).
#
# Everything this leaves for the host is in OUTDIR: daemon.log (the
# daemon's stderr, with its counters line), daemon.rc, wl.{ref,ng}.out (the
# conformance transcripts), io.{ref,ng}.out and io.ng.{sums,fiemap} (the I/O
# battery), extra.*, dmesg.txt, and guest.txt (what happened).  Failures are
# "FAIL: ..." lines on stderr; the exit status is 1 if there was any.
set -u
O=$1 FSTYPE=$2 OPTS=$3 MODE=$4
shift 4
TREES=("$@")
M=/tmp/m R=/tmp/ref
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
log() { echo "[vm $(date +%T)] $*" >&2; }
phase() { log "$*"; echo "$(date +%s) $*" >> "$O/guest.txt"; }
: > "$O/guest.txt"

for fs in ext4 fuse fuseblk; do
    grep -qw "$fs" /proc/filesystems || { fail "the VM kernel has no $fs (/proc/filesystems)"; exit 1; }
done
B=$(dumpe2fs -h /dev/vda 2>/dev/null | awk -F: '/^Block size/ {gsub(/ /, "", $2); print $2}')
DEVBYTES=$(blockdev --getsize64 /dev/vda)
[ -n "$B" ] && [ -n "$DEVBYTES" ] || { fail "cannot read the block size of /dev/vda"; exit 1; }
echo "blocksize $B devbytes $DEVBYTES" >> "$O/guest.txt"

mkdir -p "$M" "$R"
mount -t ext4 /dev/vdb "$R" || { fail "kernel ext4 mount of the reference /dev/vdb"; exit 1; }

phase "mount: $FUSE2FS -f -o kernel,$OPTS /dev/vda $M"
"$FUSE2FS" -f -o "kernel,$OPTS" /dev/vda "$M" 2> "$O/daemon.log" &
pid=$!
for _ in $(seq 300); do
    grep -q " $M " /proc/mounts && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
if ! grep -q " $M " /proc/mounts; then
    fail "fuse2fs did not mount (daemon.log follows)"
    cat "$O/daemon.log" >&2
    exit 1
fi
got=$(awk -v m="$M" '$2 == m {print $3}' /proc/mounts)
grep " $M " /proc/mounts >> "$O/guest.txt"
[ "${got%%.*}" = "$FSTYPE" ] || fail "mounted as $got, want $FSTYPE.*"

# The workload runs in a directory of its own (wl/), the rest beside it.
mkdir "$R/wl" "$M/wl" || fail "mkdir wl"
phase "conformance workload on kernel ext4"
"$WORKLOAD" "$R/wl" > "$O/wl.ref.out" 2> "$O/wl.ref.err" || fail "workload exited $? on kernel ext4"
phase "conformance workload on fuse2fs-ng"
"$WORKLOAD" "$M/wl" > "$O/wl.ng.out" 2> "$O/wl.ng.err" || fail "workload exited $? on fuse2fs-ng"

phase "I/O battery on kernel ext4"
bash "$TOP/tests/vm/io.sh" "$R" "$B" "$O/io.ref" > "$O/io.ref.out" || fail "I/O battery on kernel ext4 (see above)"
phase "I/O battery on fuse2fs-ng"
fiemap=$DEVBYTES
[ "$MODE" = iomap ] || fiemap=""
bash "$TOP/tests/vm/io.sh" "$M" "$B" "$O/io.ng" $fiemap > "$O/io.ng.out" || fail "I/O battery on fuse2fs-ng (see above)"

if [ -n "${VM_EXTRA:-}" ]; then
    phase "$VM_EXTRA on kernel ext4"
    bash "$VM_EXTRA" "$R" "$B" "$O/extra.ref" > "$O/extra.ref.out" || fail "$VM_EXTRA on kernel ext4"
    phase "$VM_EXTRA on fuse2fs-ng"
    bash "$VM_EXTRA" "$M" "$B" "$O/extra.ng" > "$O/extra.ng.out" || fail "$VM_EXTRA on fuse2fs-ng"
fi

if [ ${#TREES[@]} -gt 0 ]; then
    phase "tree copy: cp -a ${TREES[*]}"
    mkdir "$M/tree" || fail "mkdir $M/tree"
    cp -a "${TREES[@]}" "$M/tree/" || fail "cp -a ${TREES[*]} into fuse2fs-ng"
    echo 3 > /proc/sys/vm/drop_caches
    for t in "${TREES[@]}"; do
        out=$(diff -r --no-dereference "$t" "$M/tree/${t##*/}" 2>&1) ||
            fail "tree copy of $t differs (after dropping the page cache): $(echo "$out" | head -5)"
    done
    n=$(find "$M/tree" | wc -l)
    echo "tree entries $n" >> "$O/guest.txt"
    phase "tree copied and compared: $n entries"
fi

phase "unmount"
sync
umount "$M" || fail "umount $M"
# The daemon must exit by itself, with status 0.
for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
    fail "fuse2fs still running 60 s after umount"
    kill -TERM $pid
fi
wait $pid
rc=$?
echo $rc > "$O/daemon.rc"
[ $rc = 0 ] || fail "fuse2fs exited with status $rc"
umount "$R" || fail "umount of the reference"
phase "done (daemon exit status $rc)"

dmesg > "$O/dmesg.txt"
if grep -E 'WARNING:|BUG:|Oops|general protection|fuse.*(error|abort)' "$O/dmesg.txt" > "$O/dmesg.bad"; then
    fail "kernel log: $(head -3 "$O/dmesg.bad")"
fi
[ $failures = 0 ]
