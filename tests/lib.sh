# Shared helpers for fuse2fs-ng tests (sourced by tests/run.sh and case scripts).
# Every case runs in its own scratch directory $T (set by run.sh), as root.
#
# Environment: FUSE2FS (daemon binary), WORKLOAD (conformance program),
# TOP (source tree), T (scratch dir for this case).

: "${TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${FUSE2FS:=$TOP/misc/fuse2fs}"
: "${WORKLOAD:=$TOP/tests/conformance/workload}"
export TOP FUSE2FS WORKLOAD

ng_log() { echo "[$(date +%T)] $*" >&2; }
ng_fail() { echo "FAIL: $*" >&2; exit 1; }
ng_skip() { echo "SKIP: $*" >&2; exit 77; }

# ng_iomap_kit: where the fuse-iomap kernel kit (run-in-vm, bzImage) is:
# $IOMAP_KERNEL_KIT, else ../shared/iomap-kernel beside the source tree,
# else the machine's /work/shared/iomap-kernel (a clone elsewhere).
ng_iomap_kit() {
    local k
    for k in "${IOMAP_KERNEL_KIT:-}" "$TOP/../shared/iomap-kernel" /work/shared/iomap-kernel; do
        [ -n "$k" ] && [ -x "$k/run-in-vm" ] && { echo "$k"; return 0; }
    done
    echo "${IOMAP_KERNEL_KIT:-$TOP/../shared/iomap-kernel}"
}

# ng_mkfs KIND IMAGE [SIZE]: make a filesystem of one of the matrix kinds.
NG_KINDS="ext2 ext3 ext4 ext4-1k ext4-inline ext4-nocsum ext4-no64bit"
ng_mkfs() {
    local kind=$1 img=$2 size=${3:-64M} args
    case $kind in
    ext2)         args="-t ext2" ;;
    ext3)         args="-t ext3" ;;
    ext4)         args="-t ext4" ;;
    ext4-1k)      args="-t ext4 -b 1024" ;;
    ext4-inline)  args="-t ext4 -O inline_data" ;;
    ext4-nocsum)  args="-t ext4 -O ^metadata_csum" ;;
    ext4-no64bit) args="-t ext4 -O ^64bit" ;;
    *) ng_fail "unknown image kind $kind" ;;
    esac
    rm -f "$img"
    truncate -s "$size" "$img"
    # shellcheck disable=SC2086
    mke2fs -q -F $args -E root_owner=0:0 "$img" >/dev/null || ng_fail "mke2fs $kind"
}

# ng_mount IMAGE MNT [OPTS]: mount with our daemon; returns when it is ready.
ng_mount() {
    local img=$1 mnt=$2 opts=${3:-}
    mkdir -p "$mnt"
    if [ -n "$opts" ]; then
        timeout 60 "$FUSE2FS" -o "$opts" "$img" "$mnt"
    else
        timeout 60 "$FUSE2FS" "$img" "$mnt"
    fi || ng_fail "fuse2fs mount of $img failed"
    grep -q " $(realpath "$mnt") " /proc/mounts || ng_fail "$mnt not in /proc/mounts after mount"
}

# ng_umount MNT: unmount; when it returns the image must be complete.
ng_umount() {
    timeout 120 umount "$1" || { umount -l "$1" 2>/dev/null; ng_fail "umount $1"; }
}

# ng_fsck IMAGE: e2fsck -fn must report a clean filesystem.
ng_fsck() {
    local out
    out=$(e2fsck -fn "$1" 2>&1) || { echo "$out" >&2; ng_fail "e2fsck -fn $1 not clean"; }
}

# ng_debugfs_cat IMAGE PATH: file content as the on-disk image has it.
ng_debugfs_cat() { debugfs -R "cat \"$2\"" "$1" 2>/dev/null; }

# ng_kmount IMAGE MNT [OPTS]: the reference, kernel ext4 on a loop device.
ng_kmount() {
    mkdir -p "$2"
    mount -t "$(blkid -o value -s TYPE "$1")" -o loop${3:+,$3} "$1" "$2" || ng_fail "kernel mount of $1"
}

# Leave nothing behind: unmount whatever the case mounted under $T.
ng_cleanup() {
    local m
    for m in $(awk -v t="$T" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
}

# ---- Helpers for the integration cases (matrix-*, umount-sync, corpus, ...)

# ng_manifest DIR: one sorted line per entry under DIR, lost+found left out:
# path, type, mode, links, owner, size (not for directories, whose size
# depends on the implementation) and content (md5 of a regular file, target
# of a symlink; files of 256 MiB or more get no md5: check those yourself).
# Two trees with equal manifests hold the same things.
ng_manifest() {
    local dir=$1
    (cd "$dir" && find . -path ./lost+found -prune -o -type f -size -262144k -print0 |
        xargs -0 -r md5sum) | sed 's/^\([0-9a-f]*\)  /\1\t/' > "$T/.manifest.md5"
    (cd "$dir" && find . -path ./lost+found -prune -o \
        -printf '%p\t%y\t%m\t%n\t%U:%G\t%s\t%l\n') |
        awk -F'\t' -v OFS='\t' 'NR == FNR {sum[$2] = $1; next}
            $2 == "d" {$6 = "-"} $2 == "f" {$7 = sum[$1]} {print}' \
            "$T/.manifest.md5" - | LC_ALL=C sort
    rm -f "$T/.manifest.md5"
}

# ng_xattrs DIR: every extended attribute under DIR (not following
# symlinks, lost+found left out), one sorted "path<TAB>name=hexvalue" line each.
ng_xattrs() {
    (cd "$1" && getfattr -R -h -d -m - -e hex . 2>/dev/null) |
        awk '/^# file: / {f = substr($0, 9); next} /^$/ {next} {print f "\t" $0}' |
        grep -v '^lost+found' | LC_ALL=C sort
}

# ng_try_mount IMAGE MNT [OPTS]: run the daemon without failing; returns its
# exit status, with what it printed in $T/mount.err (also in NG_MOUNT_ERR).
ng_try_mount() {
    local img=$1 mnt=$2 opts=${3:-} rc
    mkdir -p "$mnt" 2>/dev/null
    if [ -n "$opts" ]; then
        timeout 60 "$FUSE2FS" -o "$opts" "$img" "$mnt" > "$T/mount.err" 2>&1
    else
        timeout 60 "$FUSE2FS" "$img" "$mnt" > "$T/mount.err" 2>&1
    fi
    rc=$?
    NG_MOUNT_ERR=$(cat "$T/mount.err")
    return $rc
}

# ng_mounted MNT: MNT is a mount point now.
ng_mounted() {
    local m
    m=$(realpath -m "$1")
    awk -v m="$m" '$2 == m {found = 1} END {exit !found}' /proc/mounts
}

# ng_mount_is_ro MNT: MNT is mounted read-only.
ng_mount_is_ro() {
    local m
    m=$(realpath -m "$1")
    awk -v m="$m" '$2 == m {o = "," $4 ","} END {exit !(o ~ /,ro,/)}' /proc/mounts
}

# ng_alive MNT: still mounted and answering (a dead daemon leaves ENOTCONN).
ng_alive() {
    ng_mounted "$1" || return 1
    ! timeout 20 stat "$1" 2>&1 >/dev/null | grep -q 'not connected'
}

# ng_pids_with_arg ARG: pids of processes with ARG as one of their arguments
# (the daemon serving an image: ng_pids_with_arg "$IMG").
ng_pids_with_arg() {
    local p a
    for p in /proc/[0-9]*; do
        while IFS= read -r -d '' a; do
            if [ "$a" = "$1" ]; then echo "${p#/proc/}"; break; fi
        done 2>/dev/null < "$p/cmdline"
    done
}

# ng_pid_alive PID: the process exists and is not a zombie (daemons end up
# as children of an init that may never reap them).
ng_pid_alive() {
    local st
    st=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# ng_is_fuse MNT: MNT is served by a FUSE daemon (fuse or fuseblk), not by
# kernel ext4 (guards against testing the wrong thing).
ng_is_fuse() {
    local m
    m=$(realpath -m "$1")
    awk -v m="$m" '$2 == m {t = $3} END {exit !(t ~ /^fuse/)}' /proc/mounts
}

# ng_fsck_kinds IMAGE: the kinds of problem e2fsck -fn finds (tests/fsck-kinds:
# numbers, lists and names stripped), one per line; none for a clean image.
# A write session must never add a kind: comm -13 before after is empty.
ng_fsck_kinds() {
    timeout -k 5 30 e2fsck -fn "$1" 2>&1 | "$TOP/tests/fsck-kinds"
}
