#!/bin/bash
# bench/run.sh: compare, in one run and on identical fresh ext4 images,
#   kernel   - the kernel's ext4 driver on a loop device (the reference)
#   e2fs     - e2fsprogs' fuse2fs (Debian package fuse2fs, /usr/bin/fuse2fs)
#   ng       - this project's misc/fuse2fs
# See bench/README.md.  Needs root (mount, loop devices, drop_caches).
#
# Environment (all optional):
#   SYSTEMS="kernel e2fs ng"  which rows to run, in this order
#   FUSE2FS_NG=PATH           our daemon (default: misc/fuse2fs in this tree)
#   FUSE2FS_E2=PATH           e2fsprogs' fuse2fs (default: /usr/bin/fuse2fs;
#                             the Debian package is installed if missing)
#   IMG_SIZE=1G               image size
#   WRITE_MB=256              size of the sequential write/read file
#   SRC=/usr/include          tree copied with cp -a
#   BENCH_DIR=DIR             where images go (a new subdirectory of DIR;
#                             default: a new directory in /var/tmp)
#   KEEP=1                    keep BENCH_DIR and the daemon logs
set -Eeuo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SYSTEMS=${SYSTEMS:-kernel e2fs ng}
FUSE2FS_NG=${FUSE2FS_NG:-$TOP/misc/fuse2fs}
FUSE2FS_E2=${FUSE2FS_E2:-/usr/bin/fuse2fs}
IMG_SIZE=${IMG_SIZE:-1G}
WRITE_MB=${WRITE_MB:-256}
SRC=${SRC:-/usr/include}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "needs root (mount, loop devices, /proc/sys/vm/drop_caches)"
[ -d "$SRC" ] || die "source tree $SRC does not exist"
for t in mke2fs e2fsck losetup mount umount dd cp find xargs stat awk; do
    command -v "$t" >/dev/null || die "$t not found"
done

# e2fsprogs' fuse2fs: the Debian package (libfuse2 based, installs /usr/bin/fuse2fs).
want() { case " $SYSTEMS " in *" $1 "*) return 0 ;; esac; return 1; }
if want e2fs && [ ! -x "$FUSE2FS_E2" ]; then
    if [ "$FUSE2FS_E2" = /usr/bin/fuse2fs ]; then
        log "installing the Debian package fuse2fs (e2fsprogs' fuse2fs) for comparison"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends fuse2fs >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq --no-install-recommends fuse2fs >/dev/null; } ||
            die "could not install the fuse2fs package"
    fi
    [ -x "$FUSE2FS_E2" ] || die "$FUSE2FS_E2 not found"
fi

if [ -n "${BENCH_DIR:-}" ]; then
    WORK=$(mkdir -p "$BENCH_DIR" && cd "$BENCH_DIR" && pwd)/fuse2fs-bench.$$
else
    WORK=$(mktemp -d /var/tmp/fuse2fs-bench.XXXXXX)
fi
mkdir -p "$WORK"
IMG=$WORK/bench.img
MNT=$WORK/mnt
mkdir -p "$MNT"
DPID=""

is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }

# shellcheck disable=SC2317  # only reached through the EXIT trap
cleanup() {
    local rc=$? l
    trap - EXIT INT TERM
    if is_mounted "$MNT"; then
        umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
    fi
    if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
        # Our own child: give it time to finish writing, then stop it.
        timeout 30 tail --pid="$DPID" -f /dev/null 2>/dev/null || kill "$DPID" 2>/dev/null || true
    fi
    if [ -e "$IMG" ]; then
        for l in $(losetup -j "$IMG" -O NAME -n 2>/dev/null); do losetup -d "$l" 2>/dev/null || true; done
    fi
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

declare -A RES   # RES[system,row] = value

mkimage() {
    rm -f "$IMG"
    truncate -s "$IMG_SIZE" "$IMG"
    # Inode tables and journal zeroed now, so the kernel's lazy init thread
    # does not run during the measurement.
    mke2fs -q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0 "$IMG"
}

# mount_sys SYS: mount $IMG on $MNT; for FUSE daemons run them in the
# foreground as our child so we know the PID and can wait for it to exit.
mount_sys() {
    local sys=$1 bin
    DPID=""
    case $sys in
    kernel) mount -t ext4 -o loop "$IMG" "$MNT"; return ;;
    e2fs) bin=$FUSE2FS_E2 ;;
    ng) bin=$FUSE2FS_NG ;;
    esac
    "$bin" "$IMG" "$MNT" -f >"$WORK/$sys.log" 2>&1 &
    DPID=$!
    for _ in $(seq 300); do
        is_mounted "$MNT" && return 0
        kill -0 "$DPID" 2>/dev/null || { cat "$WORK/$sys.log" >&2; die "$sys daemon exited before mounting"; }
        sleep 0.1
    done
    die "$sys: not mounted after 30 s"
}

# umount_sys SYS: unmount and, for a daemon, wait until its process exited:
# only then is everything on the image (e2fsprogs' fuse2fs 1.47.0 keeps
# writing after umount(8) returns).
umount_sys() {
    local sys=$1 t0 l
    t0=$(now)
    umount "$MNT"
    RES[$sys,umount_ret]=$(elapsed "$t0")
    if [ -n "$DPID" ]; then
        wait "$DPID" || log "$sys daemon exit status $?"
        DPID=""
    fi
    # Loop devices must be gone too (kernel: autoclear; ng: its own loop).
    for _ in $(seq 100); do
        l=$(losetup -j "$IMG" -O NAME -n 2>/dev/null)
        [ -z "$l" ] && break
        sleep 0.1
    done
    RES[$sys,umount]=$(elapsed "$t0")
}

bench_sys() {
    local sys=$1 t0 M=$MNT
    log "== $sys: fresh $IMG_SIZE image"
    mkimage
    drop_caches
    mount_sys "$sys"

    log "$sys: sequential write ${WRITE_MB} MiB (dd conv=fsync)"
    t0=$(now)
    dd if=/dev/zero of="$M/big" bs=1M count="$WRITE_MB" conv=fsync status=none
    RES[$sys,write]=$(elapsed "$t0")

    log "$sys: sequential read after drop_caches"
    drop_caches
    t0=$(now)
    dd if="$M/big" of=/dev/null bs=1M status=none
    RES[$sys,read]=$(elapsed "$t0")

    log "$sys: cp -a $SRC + syncfs"
    t0=$(now)
    cp -a "$SRC" "$M/tree"
    sync -f "$M"
    RES[$sys,cp]=$(elapsed "$t0")

    log "$sys: find + stat walk after drop_caches"
    drop_caches
    t0=$(now)
    find "$M/tree" -print0 | xargs -0 stat -c '%s %Y %U' >/dev/null
    RES[$sys,walk]=$(elapsed "$t0")

    log "$sys: rm -rf"
    t0=$(now)
    rm -rf "$M/tree" "$M/big"
    RES[$sys,rm]=$(elapsed "$t0")

    if [ -n "$DPID" ]; then
        RES[$sys,rss]=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$DPID/status")
    else
        RES[$sys,rss]="-"
    fi

    log "$sys: umount (and wait for the daemon to exit)"
    umount_sys "$sys"
    RES[$sys,total]=$(awk -v a="${RES[$sys,write]}" -v b="${RES[$sys,read]}" -v c="${RES[$sys,cp]}" \
        -v d="${RES[$sys,walk]}" -v e="${RES[$sys,rm]}" -v f="${RES[$sys,umount]}" \
        'BEGIN { printf "%.3f", a + b + c + d + e + f }')

    if e2fsck -fn "$IMG" >"$WORK/$sys.fsck" 2>&1; then
        RES[$sys,fsck]=clean
    else
        RES[$sys,fsck]=DIRTY
        log "$sys: e2fsck -fn is not clean:"; sed 's/^/  /' "$WORK/$sys.fsck" >&2
    fi
    rm -f "$IMG"
}

RAN=""
for sys in $SYSTEMS; do
    case $sys in
    kernel|e2fs) ;;
    ng)
        if [ ! -x "$FUSE2FS_NG" ]; then
            log "skipping ng: $FUSE2FS_NG not built yet (run make)"
            continue
        fi ;;
    *) die "unknown system '$sys' (use kernel, e2fs, ng)" ;;
    esac
    bench_sys "$sys"
    RAN="$RAN $sys"
done
RAN=${RAN# }
[ -n "$RAN" ] || die "nothing ran"

# ----------------------------------------------------------------- report
name() { case $1 in kernel) echo "kernel-ext4" ;; e2fs) echo "e2fs-fuse2fs" ;; ng) echo "fuse2fs-ng" ;; esac; }
has() { case " $RAN " in *" $1 "*) return 0 ;; esac; return 1; }
ratio() { # ratio A B ROW: time(A)/time(B)
    awk -v a="${RES[$1,$3]}" -v b="${RES[$2,$3]}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'
}

ROWS="write read cp walk rm umount total"
label() {
    case $1 in
    write)  echo "seq write ${WRITE_MB}M (dd conv=fsync)" ;;
    read)   echo "seq read ${WRITE_MB}M (cold cache)" ;;
    cp)     echo "cp -a $SRC + syncfs" ;;
    walk)   echo "find + stat walk (cold)" ;;
    rm)     echo "rm -rf everything" ;;
    umount) echo "umount until daemon exit" ;;
    total)  echo "total" ;;
    esac
}

echo
echo "fuse2fs benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs"
echo "image $IMG_SIZE ext4 (mke2fs defaults), $(find "$SRC" | wc -l) entries / $(du -sh "$SRC" | cut -f1) in $SRC"
has e2fs && echo "e2fs-fuse2fs: $("$FUSE2FS_E2" -V 2>&1 | head -n1)"
has ng && echo "fuse2fs-ng:   $("$FUSE2FS_NG" -V 2>&1 | head -n1)"
echo "times in seconds (wall clock, one run); ratios are time / time, higher = slower"
echo

hdr=$(printf '%-34s' "step")
for s in $RAN; do hdr+=$(printf ' %13s' "$(name "$s")"); done
has kernel && has e2fs && hdr+=$(printf ' %12s' "e2fs/kernel")
has kernel && has ng && hdr+=$(printf ' %10s' "ng/kernel")
has e2fs && has ng && hdr+=$(printf ' %10s' "ng/e2fs")
echo "$hdr"
printf '%*s\n' "${#hdr}" '' | tr ' ' -
for r in $ROWS; do
    line=$(printf '%-34s' "$(label "$r")")
    for s in $RAN; do line+=$(printf ' %13s' "${RES[$s,$r]}"); done
    has kernel && has e2fs && line+=$(printf ' %12s' "$(ratio e2fs kernel "$r")")
    has kernel && has ng && line+=$(printf ' %10s' "$(ratio ng kernel "$r")")
    has e2fs && has ng && line+=$(printf ' %10s' "$(ratio ng e2fs "$r")")
    echo "$line"
done
printf '%*s\n' "${#hdr}" '' | tr ' ' -
line=$(printf '%-34s' "umount(8) returned after")
for s in $RAN; do line+=$(printf ' %13s' "${RES[$s,umount_ret]}"); done
echo "$line"
line=$(printf '%-34s' "daemon peak RSS, MiB (VmHWM)")
for s in $RAN; do line+=$(printf ' %13s' "${RES[$s,rss]}"); done
echo "$line"
line=$(printf '%-34s' "e2fsck -fn afterwards")
for s in $RAN; do line+=$(printf ' %13s' "${RES[$s,fsck]}"); done
echo "$line"

for s in $RAN; do [ "${RES[$s,fsck]}" = clean ] || exit 2; done
exit 0
