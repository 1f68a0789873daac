#!/bin/bash
# Differential conformance test: run the syscall workload
# (tests/conformance/workload) on kernel ext4 and on our daemon, on two fresh
# images of the same kind, and compare the transcripts.
#
#   bash tests/conformance/compare.sh KIND        (KIND: see NG_KINDS in tests/lib.sh)
#
# Environment (tests/lib.sh): FUSE2FS, WORKLOAD, T (scratch directory; one is
# made under /tmp when unset).  CONFORMANCE_REF=kernel runs the kernel twice
# instead of using the daemon (to check the harness and determinism).
# CONFORMANCE_SIZE overrides the image size (default 1G: 4 KiB blocks unless
# the kind says otherwise; the images are sparse).
#
# Checks, in order; every failure is reported, the exit status is 1 if any:
#  1. the transcripts of kernel ext4 and of our mount (-o kernel: allow_other,
#     default_permissions,acl,suid,dev) are identical, except for lines matching a
#     pattern documented in tests/conformance/known-differences.txt;
#  2. after unmounting, both images are mounted read-only by kernel ext4, and
#     then by our daemon, and the final tree (`workload --walk`) of each is
#     compared with the one the workload printed at its end (what was written
#     is what is on disk, and our daemon reads what kernel ext4 wrote);
#  3. e2fsck -fn is clean on both images, and neither superblock records
#     an error (a healthy filesystem was never reported as corrupt);
#  4. debugfs reads, straight from each image, the files under /keep with the
#     contents the workload wrote.
# Exit 0 = pass, 1 = fail, 77 = skip.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export TOP
# shellcheck source=tests/lib.sh
source "$TOP/tests/lib.sh"

KIND=${1:-}
[ -n "$KIND" ] || { echo "usage: $0 KIND" >&2; exit 2; }
case " $NG_KINDS " in *" $KIND "*) ;; *) ng_fail "unknown kind $KIND (one of: $NG_KINDS)" ;; esac
if [ -z "${T:-}" ]; then
    T=$(mktemp -d /tmp/conformance.XXXXXX)
    export T
    ng_log "scratch directory $T"
fi
mkdir -p "$T"
MODE=${CONFORMANCE_REF:-daemon}
SIZE=${CONFORMANCE_SIZE:-1G}
KNOWN=$TOP/tests/conformance/known-differences.txt
REF_IMG=$T/ref.img NG_IMG=$T/ng.img REF_MNT=$T/ref NG_MNT=$T/mnt

[ "$(id -u)" = 0 ] || ng_skip "needs root (mounts, loop devices, setuid to test users)"
[ -e /dev/fuse ] || [ "$MODE" = kernel ] || ng_skip "no /dev/fuse"
if [ "$MODE" != kernel ] && [ ! -x "$FUSE2FS" ]; then
    ng_skip "daemon $FUSE2FS not built"
fi
if [ ! -x "$WORKLOAD" ]; then
    # Not built by make (a manual run): build it here, from the sources
    # Makefile.am lists (steps_dirs.c is included by workload.c).
    cc -Wall -O2 -o "$T/workload" "$TOP/tests/conformance/workload.c" \
        "$TOP/tests/conformance/steps_fuse_ext.c" ||
        ng_fail "cannot build the workload"
    WORKLOAD=$T/workload
fi

trap 'ng_cleanup' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# known_filter KIND < transcript > filtered: replace every line that matches a
# documented known difference for KIND by "  [known difference NAME]".
known_filter() {
    awk -v kind="$1" -v file="$KNOWN" '
        function flush() {
            if (name != "" && pat != "" && (kinds == "" || index(" " kinds " ", " " kind " ")))
                { n++; names[n] = name; pats[n] = pat }
            name = ""; pat = ""; kinds = ""
        }
        BEGIN {
            while ((getline line < file) > 0) {
                if (line ~ /^[ \t]*#/ || line ~ /^[ \t]*$/) continue
                if (line ~ /^\[.*\]$/) { flush(); name = substr(line, 2, length(line) - 2); continue }
                if (line ~ /^match *= */) { sub(/^match *= */, "", line); pat = line; continue }
                if (line ~ /^kinds *= */) { sub(/^kinds *= */, "", line); kinds = line; continue }
            }
            flush()
        }
        {
            for (i = 1; i <= n; i++)
                if ($0 ~ pats[i]) {
                    # a run of lines of one difference counts as one line
                    if (last != names[i]) print "  [known difference " names[i] "]"
                    last = names[i]
                    next
                }
            last = ""
            print
        }'
}

# keep_expected NAME FILE: what the workload wrote into /keep/NAME.
keep_expected() {
    case $1 in
    seq|seq.copy) seq 1 20000 ;;
    small)  printf 'small file\n' ;;
    trunc)  head -c 5000 /dev/zero | tr '\0' A; head -c 3192 /dev/zero ;;
    sparse) head -c 1048576 /dev/zero; printf 'tail\n' ;;
    linked) printf 'shared and more' ;;
    esac > "$2"
}

# check_image IMG WHAT: fsck and the /keep files read by debugfs.
check_image() {
    local img=$1 what=$2 f size
    ( ng_fsck "$img" ) || fail "$what: e2fsck -fn $img is not clean (output above)"
    # Nothing may have been reported as corruption on a healthy filesystem.
    if dumpe2fs -h "$img" 2>/dev/null | grep -q '^FS Error count'; then
        fail "$what: an error is recorded in the superblock: $(dumpe2fs -h "$img" 2>/dev/null |
            grep -E '^(Filesystem state|FS Error count|Last error function|Last error inode)' | tr -s ' ' | tr '\n' ';')"
    fi
    for f in seq seq.copy small trunc sparse linked; do
        keep_expected "$f" "$T/expect.$f"
        size=$(debugfs -R "stat /keep/$f" "$img" 2>/dev/null | grep -o 'Size: *[0-9]*' | head -1 | grep -o '[0-9]*$')
        if [ "$size" != "$(stat -c %s "$T/expect.$f")" ]; then
            fail "$what: debugfs: /keep/$f has size '$size', want $(stat -c %s "$T/expect.$f")"
            continue
        fi
        # (debugfs 1.47.0 prints the whole inline-data area of a small inline
        # file: compare the first i_size bytes only.)
        cmp -s <(ng_debugfs_cat "$img" "/keep/$f" | head -c "$size") "$T/expect.$f" ||
            fail "$what: debugfs: content of /keep/$f differs from what the workload wrote"
    done
    debugfs -R "ea_get /keep/small user.keep" "$img" 2>/dev/null | grep -q 'kept' ||
        fail "$what: debugfs: xattr user.keep of /keep/small"
}

# final_tree TRANSCRIPT: the "final tree" step of a transcript, as --walk prints it.
final_tree() {
    awk '/^== [0-9]+ final tree$/ {on = 1; sub(/^== [0-9]+ /, "== "); print; next}
         /^end of workload$/ {on = 0} on' "$1" | sed -e '${/^$/d}'
}
walk_tree() {
    "$WORKLOAD" --walk "$1" | sed -e 's/^== [0-9]* /== /' -e '/^$/d'
}

# ---------------------------------------------------------------- reference
ng_log "kind $KIND: reference run on kernel ext4"
ng_mkfs "$KIND" "$REF_IMG" "$SIZE"
ng_kmount "$REF_IMG" "$REF_MNT"
"$WORKLOAD" "$REF_MNT" > "$T/ref.out" 2> "$T/ref.err" || fail "workload exited $? on kernel ext4"
umount "$REF_MNT" || ng_fail "umount $REF_MNT"

# ---------------------------------------------------------------- under test
ng_mkfs "$KIND" "$NG_IMG" "$SIZE"
if [ "$MODE" = kernel ]; then
    ng_log "kind $KIND: second run on kernel ext4 (CONFORMANCE_REF=kernel)"
    ng_kmount "$NG_IMG" "$NG_MNT"
    "$WORKLOAD" "$NG_MNT" > "$T/ng.out" 2> "$T/ng.err" || fail "workload exited $? on kernel ext4 (2nd)"
    umount "$NG_MNT" || ng_fail "umount $NG_MNT"
else
    ng_log "kind $KIND: run on $FUSE2FS -o kernel"
    ng_mount "$NG_IMG" "$NG_MNT" kernel
    "$WORKLOAD" "$NG_MNT" > "$T/ng.out" 2> "$T/ng.err" || fail "workload exited $? on our mount"
    ng_alive "$NG_MNT" || fail "our mount is dead after the workload"
    ng_umount "$NG_MNT"
fi

# ---------------------------------------------------------------- 1. transcripts
known_filter "$KIND" < "$T/ref.out" > "$T/ref.filtered"
known_filter "$KIND" < "$T/ng.out" > "$T/ng.filtered"
if diff -u --label "kernel-ext4 ($KIND)" --label "fuse2fs-ng ($KIND)" \
        "$T/ref.filtered" "$T/ng.filtered" > "$T/transcript.diff"; then
    ng_log "transcripts identical ($(wc -l < "$T/ref.out") lines, $(grep -c '^  \[known difference' "$T/ng.filtered") known-difference lines)"
else
    cat "$T/transcript.diff"
    fail "transcripts differ: $(grep -c '^[-+] ' "$T/transcript.diff") lines (diff above, in $T/transcript.diff)"
fi

# ---------------------------------------------------------------- 2. on-disk tree
for which in ref ng; do
    img=$T/$which.img
    ng_kmount "$img" "$REF_MNT" ro
    walk_tree "$REF_MNT" > "$T/$which.walk"
    umount "$REF_MNT" || ng_fail "umount $REF_MNT"
    final_tree "$T/$which.out" > "$T/$which.final"
    if ! diff -u --label "$which: end of workload" --label "$which: image remounted by kernel ext4" \
            "$T/$which.final" "$T/$which.walk" > "$T/$which.walk.diff"; then
        head -100 "$T/$which.walk.diff"
        fail "$which: the tree on the image differs from the one seen at the end of the workload"
    fi
done
ng_log "final trees compared after a remount by kernel ext4"
if [ "$MODE" != kernel ]; then
    # Our daemon reads back its own image, and the image kernel ext4 wrote
    # (inline data, htree, unwritten extents, kernel-made ACL xattrs, ...).
    for which in ng ref; do
        ng_mount "$T/$which.img" "$NG_MNT" kernel,ro
        walk_tree "$NG_MNT" > "$T/$which.walk.ours"
        ng_umount "$NG_MNT"
        if ! diff -u --label "$which: end of workload" --label "$which: image read by fuse2fs-ng" \
                "$T/$which.final" "$T/$which.walk.ours" > "$T/$which.walk.ours.diff"; then
            head -100 "$T/$which.walk.ours.diff"
            fail "$which image read by our daemon: the tree differs from the one seen at the end of the workload"
        fi
    done
    ng_log "final trees compared through our daemon (its own image and the reference image)"
fi

# ---------------------------------------------------------------- 3, 4. offline
check_image "$REF_IMG" reference
check_image "$NG_IMG" ours
ng_log "e2fsck and debugfs checks done"

if [ $failures -gt 0 ]; then
    echo "kind $KIND: $failures failure(s); transcripts in $T/ref.out and $T/ng.out" >&2
    exit 1
fi
ng_log "kind $KIND: conformance ok"
exit 0
