#!/bin/bash
# bench/run.sh: the benchmark suite of issue 12, in one command.
#
#   sudo bench/run.sh                                  # report on stdout
#   sudo RESULTS=bench/RESULTS.md bench/run.sh         # also write RESULTS.md + chart
#   sudo QUICK=1 bench/run.sh                          # tiny sizes, 1 repetition
#   bench/run.sh --report RAW.tsv OUT.md OUT.png       # report from saved samples
#
# Contenders, each on its own fresh image for every repetition:
#   kernel - kernel ext4 on a loop device (the ceiling)
#   e2fs   - e2fsprogs' fuse2fs (Debian package fuse2fs, /usr/bin/fuse2fs)
#   ng     - this tree's misc/fuse2fs in classic FUSE mode (-o iomap=0)
#   raw    - the raw loop device (the physical limit; fio rows only)
# Contenders are interleaved and their order rotates with each repetition;
# caches are dropped between phases; e2fsck -fn checks every image after use.
# See bench/README.md for the workloads and every knob.
set -Eeuo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ "${1:-}" = --report ]; then
    [ $# -eq 4 ] || { echo "usage: bench/run.sh --report RAW.tsv OUT.md OUT.png" >&2; exit 2; }
    exec python3 "$TOP/bench/report.py" "$2" "$3" "$4"
fi

# ---------------------------------------------------------------- knobs
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    d_reps=1 d_img=512M d_file=64M d_runtime=1 d_nfiles=300 d_src=/usr/include/linux
    d_appends=50 d_bigdir=2000 d_walk=3000 d_bigimg=64G d_cap=20 d_walkcap=20 d_bigreps=1
else
    d_reps=3 d_img=4G d_file=1G d_runtime=3 d_nfiles=20000 d_src=/usr/include
    d_appends=2000 d_bigdir=100000 d_walk=1000000 d_bigimg=1T d_cap=45 d_walkcap=120 d_bigreps=1
fi
CONTENDERS=${CONTENDERS:-kernel e2fs ng raw}
REPS=${REPS:-$d_reps}               # repetitions of the main rows
BIG_REPS=${BIG_REPS:-$d_bigreps}    # repetitions of the 100k-dir and walk rows
IMG_SIZE=${IMG_SIZE:-$d_img}        # main image
FILE_SIZE=${FILE_SIZE:-$d_file}     # each fio file (two per image)
RUNTIME=${RUNTIME:-$d_runtime}      # seconds per random-I/O fio job
NFILES=${NFILES:-$d_nfiles}         # create/stat/unlink in one directory
SRC=${SRC:-$d_src}                  # tree for cp -a / find / rm -rf
APPENDS=${APPENDS:-$d_appends}      # 4 KiB append + fsync count
BIGDIR=${BIGDIR:-$d_bigdir}         # files in one directory (large)
WALK_INODES=${WALK_INODES:-$d_walk} # inodes walked
BIG_IMG=${BIG_IMG:-$d_bigimg}       # sparse image whose mount is timed
CAP=${CAP:-$d_cap}                  # seconds before a slow contender is cut off
WALK_CAP=${WALK_CAP:-$d_walkcap}    # the same, for the walk
RSS_TARGET_MIB=${RSS_TARGET_MIB:-64}
FUSE2FS_NG=${FUSE2FS_NG:-$TOP/misc/fuse2fs}
NG_OPTS=${NG_OPTS:-iomap=0}
FUSE2FS_E2=${FUSE2FS_E2:-/usr/bin/fuse2fs}
BENCH_DIR=${BENCH_DIR:-/var/tmp/fuse2fs-bench}
RESULTS=${RESULTS:-}
NOTE=${NOTE:-}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] bench: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "needs root (mount, loop devices, /proc/sys/vm/drop_caches)"
[ -d "$SRC" ] || die "source tree $SRC does not exist"
if [ "$REPS" -lt 1 ] || [ "$BIG_REPS" -lt 0 ]; then die "REPS must be >= 1, BIG_REPS >= 0"; fi
for t in mke2fs e2fsck losetup mount umount fio cc python3 cp find truncate; do
    command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh installs it)"
done
command -v gnuplot >/dev/null || log "gnuplot not found: no chart (scripts/install-deps.sh installs it)"
has() { case " $CONTENDERS " in *" $1 "*) return 0 ;; esac; return 1; }
for c in $CONTENDERS; do
    case $c in kernel|e2fs|ng|raw) ;; *) die "unknown contender '$c' (kernel e2fs ng raw)" ;; esac
done
if has e2fs && [ ! -x "$FUSE2FS_E2" ]; then
    die "$FUSE2FS_E2 not found: apt-get install fuse2fs (or CONTENDERS without e2fs)"
fi
if has ng && [ ! -x "$FUSE2FS_NG" ]; then
    die "$FUSE2FS_NG not built (run make), or CONTENDERS without ng"
fi

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
WORK=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
RAW=$WORK/raw.tsv
MNT=$WORK/mnt
mkdir -p "$MNT"
DPID=""       # the FUSE daemon now running (our child), if any
RAWLOOP=""    # the loop device of the raw contender, if any

# Undo everything this run set up, whatever state it stopped in: mounts under
# WORK, the daemon we started (by its PID), loop devices on our images.
# shellcheck disable=SC2317  # reached through the traps
cleanup() {
    local rc=$? m l i
    trap - EXIT INT TERM
    set +e
    while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done < <(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
    if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
        for i in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
        kill "$DPID" 2>/dev/null
        wait "$DPID" 2>/dev/null
    fi
    [ -n "$RAWLOOP" ] && losetup -d "$RAWLOOP" 2>/dev/null
    for i in "$WORK"/*.img; do
        [ -e "$i" ] || continue
        for l in $(losetup -j "$i" -O NAME -n 2>/dev/null); do losetup -d "$l" 2>/dev/null; done
    done
    if [ "${KEEP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; }; then
        rm -f "$WORK"/*.img
        log "kept $WORK (logs, raw samples)"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

FSOPS=$WORK/fsops
cc -O2 -Wall -Wextra -o "$FSOPS" "$TOP/bench/fsops.c" || die "cannot build bench/fsops.c"

REP=0
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$REP" "$3" "${4:-}" >>"$RAW"; }
meta() { printf '#meta\t%s\t%s\n' "$1" "$2" >>"$RAW"; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }
bytes() { numfmt --from=iec "$1"; }

mkimage() { # IMG SIZE [mke2fs options]
    local img=$1 size=$2
    shift 2
    rm -f "$img"
    truncate -s "$size" "$img"
    mke2fs -q -F -t ext4 -E root_owner=0:0"${LAZY-,lazy_itable_init=0,lazy_journal_init=0}" "$@" "$img"
}

# mount_c C IMG: mount IMG on MNT; sets MOUNT_SECS (from the start of
# mount(8) or the daemon until the mount point is live).
mount_c() {
    local c=$1 img=$2 t0 t1 bin opts=()
    DPID=""
    t0=$EPOCHREALTIME
    case $c in
    kernel)
        mount -t ext4 -o loop "$img" "$MNT"
        MOUNT_SECS=$(since "$t0")
        return ;;
    e2fs) bin=$FUSE2FS_E2 ;;
    ng) bin=$FUSE2FS_NG; [ -n "$NG_OPTS" ] && opts=(-o "$NG_OPTS") ;;
    esac
    "$bin" "$img" "$MNT" -f "${opts[@]}" >>"$WORK/$c.log" 2>&1 &
    DPID=$!
    if ! t1=$("$FSOPS" waitmount "$MNT" 60); then
        cat "$WORK/$c.log" >&2
        die "$c: not mounted"
    fi
    kill -0 "$DPID" 2>/dev/null || die "$c: daemon exited after mounting"
    MOUNT_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

# umount_c C IMG: unmount, wait for the daemon to exit (e2fsprogs' fuse2fs
# writes after umount(8) returns) and for the loop device to go away.
umount_c() {
    local img=$2 i
    # EBUSY can last a moment after the last process left: the kernel sends
    # FUSE RELEASE/RELEASEDIR asynchronously and a slow daemon answers late.
    for i in $(seq 300); do
        umount "$MNT" 2>"$WORK/umount.err" && break
        grep -q busy "$WORK/umount.err" || { cat "$WORK/umount.err" >&2; die "$1: umount failed"; }
        [ "$i" = 300 ] && die "$1: $MNT still busy 60 s after the workload ended"
        sleep 0.2
    done
    if [ -n "$DPID" ]; then
        for i in $(seq 1200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$DPID" 2>/dev/null; then
            log "$1: daemon still running 120 s after umount; stopping it"
            kill "$DPID"
        fi
        wait "$DPID" || log "$1: daemon exit status $?"
        DPID=""
    fi
    for i in $(seq 100); do
        [ -z "$(losetup -j "$img" -O NAME -n 2>/dev/null)" ] && break
        sleep 0.1
    done
}

fsck_c() { # C IMG
    if e2fsck -fn "$2" >"$WORK/fsck.out" 2>&1; then
        rec "$1" fsck clean "$(basename "$2")"
    else
        rec "$1" fsck UNCLEAN "$(basename "$2")"
        log "$1: e2fsck -fn $(basename "$2") is NOT clean:"
        sed 's/^/  /' "$WORK/fsck.out" | head -n 40 >&2
        cp "$WORK/fsck.out" "$WORK/fsck-$1-$REP-$(basename "$2").out"
    fi
}

# fio_c C ROW UNIT ARGS...: one fio job; records MB/s or IOPS.  fio's
# runtime includes end_fsync, so the buffered write row counts the flush.
fio_c() {
    local c=$1 row=$2 unit=$3
    shift 3
    fio --output-format=json --output="$WORK/fio.json" --fallocate=none \
        --ioengine=psync --group_reporting "$@" >>"$WORK/fio.log" 2>&1 ||
        { cat "$WORK/fio.log" >&2; die "$c: fio $row failed"; }
    rec "$c" "$row" "$(python3 - "$WORK/fio.json" "$unit" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
d = j["write"] if j["write"]["io_bytes"] > 0 else j["read"]
print("%.3f" % (d["bw_bytes"] / 1e6 if sys.argv[2] == "MB/s" else d["iops"]))
PY
)"
}

# fio_rows C A B: the streaming and random rows, on A and B (files, or
# offsets into the raw device given as "DEV@OFFSET").
fio_rows() {
    local c=$1 a=$2 b=$3 fa fb
    fa=(--filename="${a%@*}"); fb=(--filename="${b%@*}")
    [ "${a#*@}" != "$a" ] && fa+=(--offset="${a#*@}")
    [ "${b#*@}" != "$b" ] && fb+=(--offset="${b#*@}")
    log "$c: fio sequential write $FILE_SIZE buffered + fsync, then O_DIRECT"
    drop_caches
    fio_c "$c" seqw_buf MB/s --name=seqw "${fa[@]}" --rw=write --bs=1M --size="$FILE_SIZE" --end_fsync=1
    drop_caches
    fio_c "$c" seqw_dir MB/s --name=seqw "${fb[@]}" --rw=write --bs=1M --size="$FILE_SIZE" --direct=1
    log "$c: fio sequential read, cold, buffered and O_DIRECT"
    drop_caches
    fio_c "$c" seqr_buf MB/s --name=seqr "${fa[@]}" --rw=read --bs=1M --size="$FILE_SIZE"
    drop_caches
    fio_c "$c" seqr_dir MB/s --name=seqr "${fb[@]}" --rw=read --bs=1M --size="$FILE_SIZE" --direct=1
    log "$c: fio 4 KiB random write (buffered) and cold random read, 1 and 4 jobs"
    drop_caches
    fio_c "$c" randw IOPS --name=randw "${fa[@]}" --rw=randwrite --bs=4k --size="$FILE_SIZE" \
        --time_based --runtime="$RUNTIME"
    drop_caches
    fio_c "$c" randr1 IOPS --name=randr "${fb[@]}" --rw=randread --bs=4k --size="$FILE_SIZE" \
        --time_based --runtime="$RUNTIME"
    drop_caches
    fio_c "$c" randr4 IOPS --name=randr "${fb[@]}" --rw=randread --bs=4k --size="$FILE_SIZE" \
        --time_based --runtime="$RUNTIME" --numjobs=4
}

# timed C ROW EXPECTED CMD...: run an fsops verb, record its seconds; a run
# cut off by the cap (fewer than EXPECTED items) is recorded as "> CAP".
timed() {
    local c=$1 row=$2 want=$3 out secs ndone
    shift 3
    out=$("$@") || die "$c: $row failed"
    read -r secs ndone _ <<<"$out"
    if [ "$ndone" -lt "$want" ]; then
        log "$c: $row cut off at the cap of $CAP s ($ndone of $want done)"
        rec "$c" "$row" "$CAP" cap
        return 1
    fi
    rec "$c" "$row" "$secs"
}

rss() { # FIELD: the daemon's VmHWM or VmRSS in MiB
    awk -v f="$1:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$DPID/status"
}

session_raw() {
    local img=$WORK/raw.img
    log "== raw (rep $REP): loop device on a fresh $IMG_SIZE file"
    rm -f "$img"; truncate -s "$IMG_SIZE" "$img"
    RAWLOOP=$(losetup -f --show "$img")
    fio_rows raw "$RAWLOOP@0" "$RAWLOOP@$(bytes "$FILE_SIZE")"
    losetup -d "$RAWLOOP"; RAWLOOP=""
    rm -f "$img"
}

session_main() {
    local c=$1 img=$WORK/main.img t0 big=1
    log "== $c (rep $REP): fresh $IMG_SIZE image"
    mkimage "$img" "$IMG_SIZE"
    drop_caches
    mount_c "$c" "$img"
    rec "$c" mount_img "$MOUNT_SECS"
    fio_rows "$c" "$MNT/a" "$MNT/b"
    rm -f "$MNT/a" "$MNT/b"

    log "$c: create / stat (cold) / unlink $NFILES files in one directory"
    mkdir "$MNT/many"
    drop_caches
    timed "$c" create "$NFILES" "$FSOPS" create "$MNT/many" "$NFILES"
    drop_caches
    timed "$c" stat "$NFILES" "$FSOPS" stat "$MNT/many" "$NFILES"
    drop_caches
    timed "$c" unlink "$NFILES" "$FSOPS" unlink "$MNT/many" "$NFILES"

    log "$c: cp -a $SRC + sync, cold find, rm -rf"
    drop_caches
    t0=$EPOCHREALTIME
    cp -a "$SRC" "$MNT/tree"
    sync -f "$MNT"
    rec "$c" cp "$(since "$t0")"
    drop_caches
    t0=$EPOCHREALTIME
    find "$MNT/tree" -printf '%y %s %T@\n' >/dev/null
    rec "$c" find "$(since "$t0")"
    drop_caches
    t0=$EPOCHREALTIME
    rm -rf "$MNT/tree"
    rec "$c" rm "$(since "$t0")"

    log "$c: $APPENDS x (4 KiB append + fsync)"
    drop_caches
    timed "$c" append "$APPENDS" "$FSOPS" append "$MNT/log" "$APPENDS"

    if [ "$REP" -le "$BIG_REPS" ]; then
        log "$c: create $BIGDIR files in one directory (cap $CAP s)"
        mkdir "$MNT/big"
        drop_caches
        timed "$c" bigdir_create "$BIGDIR" "$FSOPS" create "$MNT/big" "$BIGDIR" "$CAP" || big=0
        drop_caches
        if [ $big = 1 ]; then
            timed "$c" bigdir_stat "$BIGDIR" "$FSOPS" stat "$MNT/big" "$BIGDIR" "$CAP" || true
        else
            rec "$c" bigdir_stat "$CAP" cap   # nothing to stat: the create did not finish
        fi
    fi
    if [ -n "$DPID" ]; then rec "$c" rss_peak "$(rss VmHWM)"; fi
    log "$c: umount, e2fsck -fn"
    umount_c "$c" "$img"
    fsck_c "$c" "$img"
    rm -f "$img"

    log "$c: mount of a $BIG_IMG filesystem (sparse image)"
    img=$WORK/bigmount.img
    LAZY='' mkimage "$img" "$BIG_IMG"
    drop_caches
    mount_c "$c" "$img"
    rec "$c" mount_big "$MOUNT_SECS"
    umount_c "$c" "$img"
    fsck_c "$c" "$img"
    rm -f "$img"
}

# The walk image: WALK_INODES empty files in directories of 1,000, made once
# with kernel ext4 and kept in BENCH_DIR; every contender walks a fresh copy.
WALK_TEMPLATE=""
walk_template() {
    local dirs per t=$BENCH_DIR/walk-$WALK_INODES.img tmp
    dirs=$(( (WALK_INODES + 999) / 1000 ))
    per=$(( WALK_INODES / dirs ))
    WALK_EXPECT=$(( dirs * per + dirs + 1 ))   # + lost+found
    WALK_TEMPLATE=$t
    [ -f "$t" ] && return
    log "building the walk image once: $dirs directories x $per files (kernel ext4), kept as $t"
    tmp=$WORK/walk-template.img
    mkimage "$tmp" "$(( (WALK_INODES / 262144 + 1) * 1024 ))M" -N $(( WALK_EXPECT + 1000 ))
    mount -t ext4 -o loop "$tmp" "$MNT"
    "$FSOPS" populate "$MNT" "$dirs" "$per"
    umount "$MNT"
    for _ in $(seq 100); do [ -z "$(losetup -j "$tmp" -O NAME -n)" ] && break; sleep 0.1; done
    e2fsck -fn "$tmp" >/dev/null 2>&1 || die "the walk image is not clean after building it"
    mv "$tmp" "$t"
}

session_walk() {
    local c=$1 img=$WORK/walk.img out secs count capped
    log "== $c (rep $REP): walk of $WALK_INODES inodes (cap $WALK_CAP s)"
    cp --sparse=always "$WALK_TEMPLATE" "$img"
    drop_caches
    mount_c "$c" "$img"
    out=$("$FSOPS" walk "$MNT" "$WALK_CAP") || die "$c: walk failed"
    read -r secs count capped <<<"$out"
    if [ "$capped" = 1 ]; then
        log "$c: walk cut off at the cap of $WALK_CAP s ($count of $WALK_EXPECT)"
        rec "$c" walk "$WALK_CAP" cap
    else
        [ "$count" -eq "$WALK_EXPECT" ] || die "$c: walk saw $count entries, expected $WALK_EXPECT"
        rec "$c" walk "$secs"
    fi
    # After a cut-off walk the RSS proves nothing about 1M inodes: flagged.
    if [ -n "$DPID" ]; then rec "$c" rss_walk "$(rss VmRSS)" "$([ "$capped" = 1 ] && echo cap)"; fi
    umount_c "$c" "$img"
    fsck_c "$c" "$img"
    rm -f "$img"
}

# ---------------------------------------------------------------- the run
START=$EPOCHREALTIME
: >"$RAW"
meta DATE "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta NPROC "$(nproc)"
meta CPU "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
meta RAM "$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta KERNEL "$(uname -r)"
meta COMMIT "$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
v=""
has e2fs && v+="e2fsprogs fuse2fs = $FUSE2FS_E2 ($(dpkg-query -W -f='${Version}' fuse2fs 2>/dev/null || echo '?')); "
has ng && v+="fuse2fs-ng = $FUSE2FS_NG -o ${NG_OPTS:-(none)}; "
meta VERSIONS "${v}kernel ext4 and raw = loop devices on image files in $BENCH_DIR"
meta SETTINGS "REPS=$REPS BIG_REPS=$BIG_REPS IMG_SIZE=$IMG_SIZE FILE_SIZE=$FILE_SIZE RUNTIME=$RUNTIME NFILES=$NFILES SRC=$SRC APPENDS=$APPENDS BIGDIR=$BIGDIR WALK_INODES=$WALK_INODES BIG_IMG=$BIG_IMG CAP=$CAP WALK_CAP=$WALK_CAP"
meta FILE "$FILE_SIZE"; meta NFILES "$NFILES"; meta SRC "$SRC"; meta APPENDS "$APPENDS"
meta BIGDIR "$BIGDIR"; meta IMG "$IMG_SIZE"; meta BIGIMG "$BIG_IMG"; meta WALK "$WALK_INODES"
meta RSS_TARGET_MIB "$RSS_TARGET_MIB"
[ -n "$NOTE" ] && meta NOTE "$NOTE"

read -r -a order <<<"$CONTENDERS"
n=${#order[@]}
[ "$BIG_REPS" -ge 1 ] && { has kernel || has e2fs || has ng; } && walk_template
for REP in $(seq 1 "$REPS"); do
    for i in $(seq 0 $((n - 1))); do
        c=${order[$(( (i + REP - 1) % n ))]}
        if [ "$c" = raw ]; then session_raw; else session_main "$c"; fi
    done
    if [ "$REP" -le "$BIG_REPS" ]; then
        for i in $(seq 0 $((n - 1))); do
            c=${order[$(( (i + REP - 1) % n ))]}
            [ "$c" = raw ] || session_walk "$c"
        done
    fi
done
secs=$(since "$START")
meta DURATION "$(awk -v s="$secs" 'BEGIN { printf "%d min %02d s", s / 60, s % 60 }')"

# ---------------------------------------------------------------- report
if [ -n "$RESULTS" ]; then
    out_md=$RESULTS
    out_dir=$(dirname "$RESULTS")
else
    out_dir=$BENCH_DIR/last
    mkdir -p "$out_dir"
    out_md=$out_dir/RESULTS.md
fi
cmd="sudo"
[ "$QUICK" = 1 ] && cmd+=" QUICK=1"
[ -n "$RESULTS" ] && cmd+=" RESULTS=$RESULTS"
meta RAW_NAME results-raw.tsv
meta COMMAND "$cmd bench/run.sh"
cp "$RAW" "$out_dir/results-raw.tsv"
rc=0
python3 "$TOP/bench/report.py" "$RAW" "$out_md" "$out_dir/results.png" || rc=$?
cat "$out_md"
log "run took $(awk -v s="$secs" 'BEGIN { printf "%d min %02d s", s / 60, s % 60 }'); report in $out_md"
[ "$rc" -eq 2 ] && log "some image was not clean after use (see above)"
exit "$rc"
