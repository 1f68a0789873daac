#!/bin/bash
# Upcall benchmark on the fuse-iomap (RFC v3) kernel, in the VM of
# ../shared/iomap-kernel/run-in-vm.  The VM is software-emulated (TCG), so
# time means nothing here: what is counted is how many requests the kernel
# sends the daemon for a given amount of I/O.
#
#   bash bench/iomap-vm.sh [RESULT-FILE]
#
# For each configuration (-o iomap=1; -o iomap=1,iomap_cache=0; -o iomap=0)
# one VM is booted on a fresh 1 GiB ext4 image (4 KiB blocks) and the phases
# below run on one mount.  Requests are counted per phase with the kernel's
# fuse_request_send tracepoint (by opcode); the daemon's own counters line
# at unmount is kept as a cross-check.  Every count is scaled to 1 GiB of
# I/O.
#
#   seq-write   buffered 1 MiB writes of a new 256 MiB file, then fsync
#   seq-read    page cache dropped, 1 MiB reads of the whole file
#   re-read     page cache dropped again (the file stays open, so the inode
#               and its mapping cache stay), the whole file read again
#   dio-write   O_DIRECT 1 MiB writes over the same 256 MiB (overwrite)
#   dio-read    O_DIRECT 1 MiB reads of it
#   rand-dio-w  4 KiB O_DIRECT writes, random order, over its first 16 MiB
#   rand-dio-r  4 KiB O_DIRECT reads, random order, same range
#   rand-buf-w  4 KiB buffered writes, random order, same range, fsync
#   rand-buf-r  page cache dropped, 4 KiB buffered reads, random order
#
# Columns: BEGIN = FUSE_IOMAP_BEGIN, END, IOEND, READ/WRITE = FUSE_READ /
# FUSE_WRITE, GETXATTR (the kernel asks for security.capability on every
# write(2), in both modes: file_remove_privs, FUSE has no SB_NOSEC), all =
# every request of the phase (SETATTR, FSYNC, FLUSH, ... included).  The
# table goes to stdout and to RESULT-FILE (default
# bench/result-iomap-vm-<date>.txt), with a verdict on the re-read (zero
# BEGIN with the mapping cache; the exit status is 1 otherwise).
# TABLE_ONLY=1 rebuilds the table from the last run's files.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/lib.sh
source "$TOP/tests/lib.sh"
KIT=$(ng_iomap_kit)
FUSE2FS=${FUSE2FS:-$TOP/misc/fuse2fs}
RESULT=${1:-$TOP/bench/result-iomap-vm-$(date +%Y-%m-%d).txt}
W=$TOP/tests/out/bench-iomap-vm    # shared with the VM (its working directory; ignored by git)
SEQ_MB=${SEQ_MB:-256} RAND_MB=${RAND_MB:-16}

[ -x "$KIT/run-in-vm" ] || { echo "no kit at $KIT" >&2; exit 2; }
[ -x "$FUSE2FS" ] || { echo "build $FUSE2FS first (make -j2)" >&2; exit 2; }
command -v xfs_io > /dev/null || { echo "xfs_io missing (apt-get install xfsprogs)" >&2; exit 2; }
configs=("iomap=1" "iomap=1,iomap_cache=0" "iomap=0")
if [ "${TABLE_ONLY:-0}" != 1 ]; then
rm -rf "$W"; mkdir -p "$W"

# ---------------------------------------------------------------- in the VM
cat > "$W/guest.sh" <<'EOF'
#!/bin/bash
# guest.sh OUT OPTS SEQ_MB RAND_MB: the phases, on /dev/vda.
set -u
OUT=$1 OPTS=$2 SEQ=$3 RAND=$4
TR=/sys/kernel/tracing M=/tmp/m
mount -t tracefs none $TR 2>/dev/null
echo 65536 > $TR/buffer_size_kb
echo 1 > $TR/events/fuse/fuse_request_send/enable
mkdir -p $M
"$FUSE2FS" -f -o "$OPTS" /dev/vda $M 2> "$OUT.daemon" & pid=$!
for _ in $(seq 300); do grep -q " $M " /proc/mounts && break; sleep 0.1; done
grep -q " $M " /proc/mounts || { echo "FAIL: mount"; cat "$OUT.daemon"; exit 1; }
dropcache() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# phase NAME BYTES COMMAND...: count the requests COMMAND causes, by opcode
phase() {
    local name=$1 bytes=$2
    shift 2
    echo > $TR/trace
    echo 1 > $TR/tracing_on
    "$@" > /dev/null || echo "FAIL: phase $name: $*" >&2
    echo 0 > $TR/tracing_on
    awk -v n="$name" -v b="$bytes" '/fuse_request_send/ {
            for (i = 1; i <= NF; i++) if ($i == "opcode") { c[$(i + 2)]++; all++ } }
        END { printf "%s %d all=%d", n, b, all; for (k in c) printf " %s=%d", k, c[k]; printf "\n" }' \
        $TR/trace >> "$OUT.phases"
    grep -q 'LOST EVENTS\|CPU.*buffer started' $TR/trace && echo "FAIL: trace buffer overflow in $name" >&2
}
S=$((SEQ << 20)) R=$((RAND << 20))
touch $M/f
exec 3< $M/f          # keeps the inode (and its mapping cache) across drop_caches
phase seq-write  $S xfs_io -c "pwrite -b 1m 0 ${SEQ}m" -c fsync $M/f
dropcache
phase seq-read   $S xfs_io -r -c "pread -b 1m 0 ${SEQ}m" $M/f
dropcache
phase re-read    $S xfs_io -r -c "pread -b 1m 0 ${SEQ}m" $M/f
phase dio-write  $S xfs_io -d -c "pwrite -b 1m 0 ${SEQ}m" $M/f
phase dio-read   $S xfs_io -d -r -c "pread -b 1m 0 ${SEQ}m" $M/f
phase rand-dio-w $R xfs_io -d -c "pwrite -R -b 4k 0 ${RAND}m" $M/f
phase rand-dio-r $R xfs_io -d -r -c "pread -R -b 4k 0 ${RAND}m" $M/f
phase rand-buf-w $R xfs_io -c "pwrite -R -b 4k 0 ${RAND}m" -c fsync $M/f
dropcache
phase rand-buf-r $R xfs_io -r -c "pread -R -b 4k 0 ${RAND}m" $M/f
exec 3<&-
umount $M
wait $pid
echo "daemon exit status $?" >> "$OUT.daemon"
EOF

# ---------------------------------------------------------------- run
for c in "${configs[@]}"; do
    tag=$(echo "$c" | tr ',=' '_-')
    rm -f "$W/img"
    truncate -s 1G "$W/img"
    mke2fs -q -F -t ext4 -b 4096 "$W/img" > /dev/null || exit 1
    echo "== -o $c" >&2
    (cd "$W" && "$KIT/run-in-vm" --disk "$W/img" --timeout 1500 --log "$W/$tag.console" \
        --env "FUSE2FS=$(realpath "$FUSE2FS")" -- bash "$W/guest.sh" "$W/$tag" "$c" "$SEQ_MB" "$RAND_MB") ||
        { echo "VM run for -o $c failed (console: $W/$tag.console)" >&2; tail -20 "$W/$tag.console" >&2; exit 1; }
    grep FAIL "$W/$tag.console" >&2
    e2fsck -fn "$W/img" > "$W/$tag.fsck" 2>&1 || { echo "e2fsck -fn not clean after -o $c" >&2; cat "$W/$tag.fsck" >&2; exit 1; }
done
fi

# ---------------------------------------------------------------- table
{
    echo "fuse2fs-ng upcall counts on the fuse-iomap RFC v3 kernel (6.16.3, qemu TCG)"
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null), ext4 1 GiB image, 4 KiB blocks"
    echo "sequential phases: ${SEQ_MB} MiB; random phases: ${RAND_MB} MiB in 4 KiB requests; counts per GiB of I/O"
    echo "(kernel fuse_request_send tracepoint, per phase; see bench/README-iomap.md)"
    echo
    printf '%-24s %-11s %8s %8s %8s %8s %8s %8s %8s\n' config phase BEGIN END IOEND READ WRITE GETXATTR all
    for c in "${configs[@]}"; do
        tag=$(echo "$c" | tr ',=' '_-')
        awk -v cfg="-o $c" '{
            scale = 1073741824 / $2
            delete v; for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            printf "%-24s %-11s %8d %8d %8d %8d %8d %8d %8d\n", cfg, $1,
                v["(FUSE_IOMAP_BEGIN)"] * scale, v["(FUSE_IOMAP_END)"] * scale, v["(FUSE_IOMAP_IOEND)"] * scale,
                v["(FUSE_READ)"] * scale, v["(FUSE_WRITE)"] * scale, v["(FUSE_GETXATTR)"] * scale, v["all"] * scale }' "$W/$tag.phases"
        echo "  daemon: $(grep 'counters:' "$W/$tag.daemon" | sed 's/.*counters: //')"
        echo
    done
    rr=$(awk '$1 == "re-read" { for (i = 3; i <= NF; i++) if ($i ~ /^\(FUSE_IOMAP_BEGIN\)=/) { sub(/.*=/, "", $i); print $i } }' "$W/iomap-1.phases")
    rr=${rr:-0}
    sr=$(awk '$1 == "seq-read" { for (i = 3; i <= NF; i++) if ($i ~ /^\(FUSE_IOMAP_BEGIN\)=/) { sub(/.*=/, "", $i); print $i } }' "$W/iomap-1.phases")
    if [ "$rr" = 0 ] && [ "${sr:-0}" -gt 0 ]; then
        echo "verdict: with the mapping cache, re-reading the ${SEQ_MB} MiB file after drop_caches cost 0 FUSE_IOMAP_BEGIN (the first read: ${sr}); the page cache was dropped, the mapping cache was not."
    else
        echo "verdict: FAILED: re-read with the mapping cache cost $rr FUSE_IOMAP_BEGIN (first read: ${sr:-?}), want 0 after a first read that had some"
    fi
} | tee "$RESULT"
echo "written to $RESULT" >&2
grep -q '^verdict: FAILED' "$RESULT" && exit 1
exit 0
