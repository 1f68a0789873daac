# Shared by the iomap-* cases: the kernel-side test client (tests/iomap/)
# drives the real daemon over a socketpair; see tests/iomap/main.c.
#
# Environment: IOMAP_CLIENT, IOMAP_SHIM (exported by make check), FUSE2FS.

IOMAP_CLIENT=${IOMAP_CLIENT:-$TOP/tests/iomap/client}
IOMAP_SHIM=${IOMAP_SHIM:-$TOP/tests/iomap/devshim.so}
[ -x "$IOMAP_CLIENT" ] || ng_fail "iomap client $IOMAP_CLIENT is not built (make check builds it)"
[ -f "$IOMAP_SHIM" ] || ng_fail "iomap shim $IOMAP_SHIM is not built (make check builds it)"
# An ASan daemon wants its runtime first in the preload list.
IOMAP_PRELOAD=$IOMAP_SHIM
iomap_asan=$(ldd "$FUSE2FS" 2>/dev/null | awk '/libasan/ {print $3; exit}')
[ -n "$iomap_asan" ] && IOMAP_PRELOAD="$iomap_asan $IOMAP_SHIM"

# iomap_mkfs KIND IMAGE [SIZE]: ext4 (4k blocks), ext4-1k, ext4-inline, ext3.
iomap_mkfs() {
    local kind=$1 img=$2 size=${3:-256M} args
    case $kind in
    ext4)        args="-t ext4 -b 4096" ;;
    ext4-1k)     args="-t ext4 -b 1024" ;;
    ext4-inline) args="-t ext4 -b 4096 -O inline_data" ;;
    ext3)        args="-t ext3 -b 4096" ;;
    *) ng_fail "iomap_mkfs: unknown kind $kind" ;;
    esac
    rm -f "$img"
    truncate -s "$size" "$img"
    # shellcheck disable=SC2086
    mke2fs -q -F $args -E root_owner=0:0 "$img" >/dev/null || ng_fail "mke2fs $kind"
}

# Failures are counted, so that one run's failure does not hide the next;
# iomap_done ends the case.
iomap_nfail=0
iomap_failed=""
iomap_bad() { echo "FAIL: $*" >&2; iomap_nfail=$((iomap_nfail + 1)); iomap_failed="$iomap_failed $1"; }
iomap_done() {
    [ $iomap_nfail = 0 ] || ng_fail "$iomap_nfail failure(s):$iomap_failed"
    exit 0
}

# iomap_client NAME ARGS...: run the client in $T (its output in $T/NAME.txt,
# the daemon's stderr in $T/NAME.daemon.txt); returns 1 (after saying why)
# if it failed.
iomap_client() {
    local name=$1 rc
    shift
    (cd "$T" && exec "$IOMAP_CLIENT" --fuse2fs "$FUSE2FS" --shim "$IOMAP_PRELOAD" "$@") \
        > "$T/$name.txt" 2>&1
    rc=$?
    [ -f "$T/daemon.err" ] && mv "$T/daemon.err" "$T/$name.daemon.txt"
    grep -E '^\[[^]]*\] upcalls:|^PASS|^FAIL|^fscheck|skipped' "$T/$name.txt" | sed "s/^/$name: /"
    # libext2fs complaining inside the daemon means a bad block number got through
    if [ $rc = 0 ] && grep -q 'Illegal block number' "$T/$name.daemon.txt" 2>/dev/null; then
        grep 'Illegal block number' "$T/$name.daemon.txt" | head -3
        iomap_bad "$name" "libext2fs complained about a block number inside the daemon"
        return 1
    fi
    if [ $rc != 0 ]; then
        echo "--- $name: last lines"; tail -n 25 "$T/$name.txt"
        [ -f "$T/$name.daemon.txt" ] && { echo "--- $name: daemon stderr"; tail -n 15 "$T/$name.daemon.txt"; }
        iomap_bad "$name" "client exit $rc (see $T/$name.txt)"
        return 1
    fi
    return 0
}

# iomap_verify NAME IMAGE: after a run with --record $T/NAME.rec and
# --dump-dir $T/NAME.exp: final mappings vs libext2fs, e2fsck -fn clean,
# every file on the image equal to the client's model.  Returns 1 on failure.
iomap_verify() {
    local name=$1 img=$2 f base n=0
    if ! "$IOMAP_CLIENT" fscheck "$img" "$T/$name.rec" > "$T/$name.fscheck.txt" 2>&1; then
        tail -n 21 "$T/$name.fscheck.txt"
        iomap_bad "$name" "final mappings disagree with the image"
        return 1
    fi
    tail -n 1 "$T/$name.fscheck.txt" | sed "s/^/$name: /"
    if ! e2fsck -fn "$img" > "$T/$name.fsck.txt" 2>&1; then
        head -n 20 "$T/$name.fsck.txt"
        iomap_bad "$name" "e2fsck -fn not clean"
        return 1
    fi
    for f in "$T/$name.exp"/*.expected; do
        [ -e "$f" ] || continue
        base=$(basename "$f" .expected)
        rm -f "$T/dump.out"
        debugfs -R "dump /$base $T/dump.out" "$img" > /dev/null 2>&1
        if ! cmp -s "$f" "$T/dump.out"; then
            iomap_bad "$name" "/$base on the image differs from the model ($(cmp "$f" "$T/dump.out" 2>&1 | head -1))"
            return 1
        fi
        n=$((n + 1))
    done
    [ $n -gt 0 ] || { iomap_bad "$name" "no model files to compare"; return 1; }
    rm -f "$T/dump.out"
    echo "$name: e2fsck clean, $n file(s) on the image equal to the model"
}
