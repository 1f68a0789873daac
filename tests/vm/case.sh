#!/bin/bash
# Host side of the real-kernel cases (tests/cases/iomap-vm-*): boots the
# fuse-iomap (RFC v3) kernel with ../shared/iomap-kernel/run-in-vm, runs
# tests/vm/guest.sh inside it, then checks on the host what it left.
#
#   case.sh KIND FSTYPE OPTS MODE [EXTRA]
#
# KIND: image kind (ng_mkfs in tests/lib.sh).  FSTYPE: fuseblk or fuse.
# OPTS: fuse2fs -o options (kernel,... is added).  MODE: iomap or classic,
# what the daemon's counters must show.  EXTRA: a script under tests/vm/
# that guest.sh runs on both mounts (inline.sh).
#
# Checks:
#  1. inside the VM (guest.sh): the mount type; the conformance workload and
#     the I/O battery (tests/vm/io.sh) run on kernel ext4 (second virtio
#     disk) and on our daemon; a tree copy compared with diff -r; umount,
#     daemon exit status 0; no WARN/BUG in the kernel log (and the kernel
#     runs with panic_on_warn=1, so a WARN kills the run);
#  2. the conformance transcripts are identical except for the documented
#     known differences (tests/conformance/known-differences.txt, plus
#     tests/vm/known-differences-vm.txt for the VM kernel's configuration);
#  3. the I/O battery transcripts are identical;
#  4. the daemon's counters: in iomap mode no file data went through
#     FUSE_READ/FUSE_WRITE (data_read_bytes=0, data_write_bytes=0) and the
#     iomap upcalls were used; in classic mode the reverse;
#  5. e2fsck -fn is clean on both images;
#  6. debugfs reads, straight from our image, every file of the I/O battery
#     with the size and md5 recorded inside the VM, and the extent tree it
#     reads maps every block the way FIEMAP reported inside the VM;
#  7. our image, mounted by the host's kernel ext4, holds the tree copy
#     (diff -r with the source) and the final tree of the workload.
#
# Environment: FUSE2FS, WORKLOAD, T, TOP as for every case; IOMAP_KERNEL_KIT
# (default $TOP/../shared/iomap-kernel); VM_TREES (directories to copy,
# default three from /usr/include, about 1400 entries; empty: none); VM_SIZE (image size, default 1G, sparse).
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export TOP
# shellcheck source=tests/lib.sh
source "$TOP/tests/lib.sh"
KIND=$1 FSTYPE=$2 OPTS=$3 MODE=$4 EXTRA=${5:-}
KIT=$(ng_iomap_kit)
SIZE=${VM_SIZE:-1G}
read -r -a TREES <<< "${VM_TREES-/usr/include/linux /usr/include/x86_64-linux-gnu /usr/include/python3.11}"
: "${T:?T (scratch directory) is not set; run through tests/run.sh}"
T=$(cd "$T" && pwd -P)
O=$T/vm            # shared with the VM: the run-in-vm working directory
mkdir -p "$O"

[ "$(id -u)" = 0 ] || ng_skip "needs root (loop mounts of the images on the host)"
[ -x "$KIT/run-in-vm" ] && [ -r "$KIT/bzImage" ] || ng_skip "no fuse-iomap kernel kit at $KIT (set IOMAP_KERNEL_KIT)"
command -v qemu-system-x86_64 > /dev/null || ng_skip "qemu-system-x86_64 missing (scripts/install-deps.sh installs qemu-system-x86)"
command -v xfs_io > /dev/null || ng_skip "xfs_io missing (scripts/install-deps.sh installs xfsprogs)"
[ -x "$FUSE2FS" ] || ng_skip "daemon $FUSE2FS not built"
[ -x "$WORKLOAD" ] || ng_skip "workload $WORKLOAD not built (make check builds it)"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
trap 'ng_cleanup' EXIT

# ---------------------------------------------------------------- images
ng_mkfs "$KIND" "$T/ng.img" "$SIZE"
ng_mkfs "$KIND" "$T/ref.img" "$SIZE"
if [ -n "$EXTRA" ] && [ -f "$TOP/tests/vm/${EXTRA%.sh}.populate" ]; then
    # files the daemon did not create (inline data, made by mke2fs -d)
    src=$T/populate
    rm -rf "$src"; mkdir -p "$src"
    bash "$TOP/tests/vm/${EXTRA%.sh}.populate" "$src" || ng_fail "populate $src"
    for img in ng ref; do
        case $KIND in
        ext4-inline) args="-t ext4 -O inline_data" ;;
        *) args="-t ext4" ;;
        esac
        # shellcheck disable=SC2086
        mke2fs -q -F $args -E root_owner=0:0 -d "$src" "$T/$img.img" > /dev/null ||
            ng_fail "mke2fs -d $src $img.img"
    done
fi

# ---------------------------------------------------------------- the VM
ng_log "booting the fuse-iomap kernel: $KIND, $FSTYPE, -o $OPTS, expecting $MODE"
# The guest sees the host read-only, except its own tmpfs on /tmp, and the
# working directory $O read-write at the same path.  A tree or a build
# under /tmp (a CI clone) is staged into $O for it.
GTOP=$TOP GFUSE2FS=$(realpath "$FUSE2FS") GWORKLOAD=$(realpath "$WORKLOAD")
case "$(realpath "$TOP")|$GFUSE2FS|$GWORKLOAD" in
/tmp/* | *"|/tmp/"*)
    GTOP=$O/stage
    rm -rf "$GTOP"; mkdir -p "$GTOP/tests"
    cp -a "$TOP/tests/vm" "$TOP/tests/lib.sh" "$GTOP/tests/" &&
        cp "$GFUSE2FS" "$GTOP/fuse2fs" && cp "$GWORKLOAD" "$GTOP/workload" ||
        ng_fail "staging the guest's files in $GTOP"
    GFUSE2FS=$GTOP/fuse2fs GWORKLOAD=$GTOP/workload
    ng_log "tree under /tmp: guest files staged in $GTOP"
    ;;
esac
vmenv=(--env "FUSE2FS=$GFUSE2FS" --env "WORKLOAD=$GWORKLOAD" --env "TOP=$GTOP")
[ -n "$EXTRA" ] && vmenv+=(--env "VM_EXTRA=$GTOP/tests/vm/$EXTRA")
[ -n "${ASAN_OPTIONS:-}" ] && vmenv+=(--env "ASAN_OPTIONS=$ASAN_OPTIONS")
[ -n "${UBSAN_OPTIONS:-}" ] && vmenv+=(--env "UBSAN_OPTIONS=$UBSAN_OPTIONS")
vmlimit=$(awk -v s="${NG_TIME_SCALE:-1}" 'BEGIN {printf "%d", 250 * s}')
t0=$(date +%s)
# The working directory ($O) is what the VM can write; the rest of the host
# (the build tree included) is visible read-only.
(cd "$O" && "$KIT/run-in-vm" --disk "$T/ng.img" --disk "$T/ref.img" --timeout "$vmlimit" \
    --append panic_on_warn=1 --log "$T/console.txt" "${vmenv[@]}" -- \
    bash "$GTOP/tests/vm/guest.sh" "$O" "$FSTYPE" "$OPTS" "$MODE" "${TREES[@]}")
vmrc=$?
ng_log "VM finished with status $vmrc after $(( $(date +%s) - t0 ))s"
grep -h 'FAIL:' "$T/console.txt" | sed 's/^/  vm: /' >&2
case $vmrc in
0) ;;
124) fail "the VM run timed out (console: $T/console.txt)"; tail -20 "$T/console.txt" >&2 ;;
125) fail "the VM died or did not boot (kernel panic, WARN with panic_on_warn?) (console: $T/console.txt)"
     grep -E 'WARNING|BUG|panic|Call Trace' -A3 "$T/console.txt" | head -40 >&2 ;;
*) fail "guest.sh reported failures (status $vmrc; FAIL lines above; console: $T/console.txt)" ;;
esac
[ -f "$O/guest.txt" ] && sed 's/^/  guest: /' "$O/guest.txt" >&2
[ -f "$O/daemon.rc" ] || ng_fail "the VM run did not get to unmounting (see above)"

# ---------------------------------------------------------------- transcripts
# known_filter KIND FILE...: replace every line that matches a documented
# known difference by "  [known difference NAME]" (as compare.sh does).
# Besides kinds= and match=, two keys the VM file uses: modes = iomap|classic
# (the difference only exists in that mode), and after = REGEX with
# within = N (only the N lines that follow a line matching REGEX).
known_filter() {
    local kind=$1
    shift
    awk -v kind="$kind" -v mode="$MODE" -v files="$*" '
        function flush() {
            if (name != "" && pat != "" && (kinds == "" || index(" " kinds " ", " " kind " ")) &&
                (modes == "" || index(" " modes " ", " " mode " ")))
                { n++; names[n] = name; pats[n] = pat; afters[n] = after; withins[n] = within + 0 }
            name = ""; pat = ""; kinds = ""; modes = ""; after = ""; within = 0
        }
        BEGIN {
            nf = split(files, fl, " ")
            for (f = 1; f <= nf; f++) {
                while ((getline line < fl[f]) > 0) {
                    if (line ~ /^[ \t]*#/ || line ~ /^[ \t]*$/) continue
                    if (line ~ /^\[.*\]$/) { flush(); name = substr(line, 2, length(line) - 2); continue }
                    if (line ~ /^match *= */) { sub(/^match *= */, "", line); pat = line; continue }
                    if (line ~ /^kinds *= */) { sub(/^kinds *= */, "", line); kinds = line; continue }
                    if (line ~ /^modes *= */) { sub(/^modes *= */, "", line); modes = line; continue }
                    if (line ~ /^after *= */) { sub(/^after *= */, "", line); after = line; continue }
                    if (line ~ /^within *= */) { sub(/^within *= */, "", line); within = line; continue }
                }
                flush()
            }
        }
        {
            for (i = 1; i <= n; i++) if (afters[i] != "" && $0 ~ afters[i]) seen[i] = NR
            for (i = 1; i <= n; i++)
                if ($0 ~ pats[i] && (afters[i] == "" || (seen[i] && NR - seen[i] <= withins[i]))) {
                    # a run of lines of one difference counts as one line
                    if (last != names[i]) print "  [known difference " names[i] "]"
                    last = names[i]
                    next
                }
            last = ""
            print
        }'
}
# no_security_xattr: the VM kernel is built without CONFIG_EXT4_FS_SECURITY,
# so kernel ext4 refuses security.* xattrs there (EOPNOTSUPP) while our
# daemon stores them.  Only when the reference transcript shows that, take
# the workload's one security.* attribute out of our transcript: its
# setxattr line, its lines in xattr listings, and one from their counts.
no_security_xattr() {
    awk '
        function out() { if (hdr != "") { if (sec) { n = hdr; sub(/[0-9]+$/, "", n); m = hdr; sub(/.*: /, "", m); hdr = n (m - 1) } print hdr; for (i = 1; i <= nb; i++) print body[i] } hdr = ""; nb = 0; sec = 0 }
        /^  setxattr security\.three = / { next }
        hdr != "" && /^    / { if ($0 ~ /^    security\.three = /) sec = 1; else body[++nb] = $0; next }
        { out() }
        /^  xattrs of .*: [0-9]+$/ { hdr = $0; next }
        { print }
        END { out() }'
}
KNOWN="$TOP/tests/conformance/known-differences.txt $TOP/tests/vm/known-differences-vm.txt"
if grep -q "^  setxattr security.three = 'sec' -> -1 EOPNOTSUPP" "$O/wl.ref.out"; then
    sec=no_security_xattr
else
    sec=cat
fi
$sec < "$O/wl.ref.out" | known_filter "$KIND" $KNOWN > "$T/wl.ref.filtered"
$sec < "$O/wl.ng.out" | known_filter "$KIND" $KNOWN > "$T/wl.ng.filtered"
if diff -u --label "kernel-ext4 in the VM ($KIND)" --label "fuse2fs-ng -o $OPTS ($KIND)" \
        "$T/wl.ref.filtered" "$T/wl.ng.filtered" > "$T/wl.diff.txt"; then
    ng_log "conformance transcripts identical ($(wc -l < "$O/wl.ref.out") lines)"
else
    cat "$T/wl.diff.txt" >&2
    fail "conformance transcripts differ: $(grep -c '^[-+] ' "$T/wl.diff.txt") lines (diff above, in $T/wl.diff.txt)"
fi

for x in io ${EXTRA:+extra}; do
    if diff -u --label "$x on kernel-ext4" --label "$x on fuse2fs-ng -o $OPTS" \
            "$O/$x.ref.out" "$O/$x.ng.out" > "$T/$x.diff.txt"; then
        ng_log "$x transcripts identical ($(wc -l < "$O/$x.ref.out") lines)"
    else
        cat "$T/$x.diff.txt" >&2
        fail "$x transcripts differ (diff above, in $T/$x.diff.txt)"
    fi
done
[ -f "$O/io.ng.fiemap.txt" ] && sed 's/^/  vm: /' "$O/io.ng.fiemap.txt" >&2

# ---------------------------------------------------------------- counters
counters=$(grep 'counters: mode=' "$O/daemon.log" | tail -1)
echo "daemon: $counters" >&2
grep -E '^fuse2fs: .*iomap (mode|device)' "$O/daemon.log" | sed 's/^/daemon: /' >&2
cnt() { echo "$counters" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
if [ -z "$counters" ]; then
    fail "no counters line in the daemon's log ($O/daemon.log)"
else
    [ "$(cnt mode)" = "$MODE" ] || fail "counters: mode=$(cnt mode), want $MODE"
    if [ "$MODE" = iomap ]; then
        for c in data_read_bytes data_write_bytes; do
            [ "$(cnt $c)" = 0 ] || fail "counters: $c=$(cnt $c): file data went through FUSE_READ/FUSE_WRITE in iomap mode"
        done
        for c in iomap_config iomap_begin iomap_end iomap_ioend iomap_alloc syncfs; do
            [ "$(cnt $c)" -gt 0 ] 2>/dev/null || fail "counters: $c=$(cnt $c), want > 0 in iomap mode"
        done
        grep -q "iomap device id [1-9]" "$O/daemon.log" || fail "no 'iomap device id N' in the daemon's log"
        if [ "$EXTRA" = inline.sh ]; then
            grep -q 'kept' "$O/extra.ng.mmap" 2>/dev/null ||
                fail "inline: $(cat "$O/extra.ng.mmap" 2>/dev/null || echo 'no mmap result')"
            ng_log "inline mmap write: ours: $(cat "$O/extra.ng.mmap" 2>/dev/null); kernel ext4: $(cat "$O/extra.ref.mmap" 2>/dev/null)"
            for c in inline_read_bytes inline_write_bytes; do
                [ "$(cnt $c)" -gt 0 ] 2>/dev/null || fail "counters: $c=$(cnt $c): inline data should go through FUSE_READ/FUSE_WRITE"
            done
        fi
        case ",$OPTS," in
        *,iomap_cache=0,*) [ "$(cnt upserts)" = 0 ] || fail "counters: upserts=$(cnt upserts) with iomap_cache=0" ;;
        *) [ "$(cnt upserts)" -gt 0 ] 2>/dev/null || fail "counters: upserts=$(cnt upserts), want > 0 (mapping cache on)" ;;
        esac
    else
        for c in iomap_config iomap_begin iomap_end iomap_ioend upserts; do
            [ "$(cnt $c)" = 0 ] || fail "counters: $c=$(cnt $c) in classic mode"
        done
        # the I/O battery alone writes more than 30 MiB and reads it back
        for c in data_read_bytes data_write_bytes; do
            [ "$(cnt $c)" -gt $((30 << 20)) ] 2>/dev/null ||
                fail "counters: $c=$(cnt $c): classic mode should move file data through FUSE_READ/FUSE_WRITE"
        done
    fi
fi

# ---------------------------------------------------------------- offline
for img in ng ref; do
    out=$(e2fsck -fn "$T/$img.img" 2>&1) || { echo "$out" >&2; fail "e2fsck -fn $img.img is not clean (output above)"; }
done
ng_log "e2fsck -fn clean on both images (unless reported above)"

# debugfs: sizes and contents recorded inside the VM.
checked=0
while read -r path size sum; do
    dsize=$(debugfs -R "stat \"$path\"" "$T/ng.img" 2>/dev/null | grep -o 'Size: *[0-9]*' | head -1 | grep -o '[0-9]*$')
    dsum=$(ng_debugfs_cat "$T/ng.img" "$path" | head -c "$size" | md5sum | cut -c1-32)
    [ "$dsize" = "$size" ] || fail "debugfs: $path has size '$dsize' on the image, $size inside the VM"
    [ "$dsum" = "$sum" ] || fail "debugfs: $path has md5 $dsum on the image, $sum inside the VM"
    checked=$((checked + 1))
done < <(cat "$O/io.ng.sums" ${EXTRA:+"$O/extra.ng.sums"} 2>/dev/null)
[ $checked -ge 30 ] || fail "only $checked files in $O/io.ng.sums"
ng_log "debugfs: $checked files with the sizes and contents seen inside the VM"

# debugfs extent trees against FIEMAP: one "file lblk pblk state" line per
# block from each, then compare.  (FIEMAP on a FUSE mount needs iomap.)
if [ "$MODE" = iomap ]; then
    spb=$(( $(awk '/^blocksize/ {print $2}' "$O/guest.txt") / 512 ))
    awk -v spb="$spb" '
        function hex(s,  i, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v }
        { st = int(hex($6) / 2048) % 2 ? "unwritten" : "written"
          for (s = $2; s <= $3; s += spb) print $1, s / spb, ($4 + s - $2) / spb, st }' \
        "$O/io.ng.fiemap" | LC_ALL=C sort > "$T/fiemap.blocks"
    for f in $(awk '{print $1}' "$O/io.ng.fiemap" | sort -u); do
        debugfs -R "ex /io/$f" "$T/ng.img" 2>/dev/null | tr '/' ' ' | awk -v f="$f" '
            $1 ~ /^[0-9]+$/ && $1 == $2 {
                # leaf: lvl max ent nent lstart - lend pstart - pend len [Uninit]
                if ($6 == "-") { ls = $5; le = $7; ps = $8; fl = $12 } else { ls = le = $5; ps = $6; fl = $8 }
                for (b = ls; b <= le; b++) print f, b, ps + b - ls, (fl == "Uninit" ? "unwritten" : "written") }'
    done | LC_ALL=C sort > "$T/debugfs.blocks"
    if ! diff "$T/fiemap.blocks" "$T/debugfs.blocks" > "$T/extents.diff.txt"; then
        head -20 "$T/extents.diff.txt" >&2
        fail "FIEMAP inside the VM and the extent trees debugfs reads disagree ('<' FIEMAP, '>' debugfs; $T/extents.diff.txt)"
    fi
    [ -s "$T/fiemap.blocks" ] || fail "no FIEMAP extents recorded"
    ng_log "FIEMAP agrees with debugfs: $(wc -l < "$T/fiemap.blocks") blocks"
fi

# ---------------------------------------------------------------- kernel ext4 on the host
walk_tree() { "$WORKLOAD" --walk "$1" | sed -e 's/^== [0-9]* /== /' -e '/^$/d'; }
final_tree() {
    awk '/^== [0-9]+ final tree$/ {on = 1; sub(/^== [0-9]+ /, "== "); print; next}
         /^end of workload$/ {on = 0} on' "$1" | sed -e '${/^$/d}'
}
ng_kmount "$T/ng.img" "$T/k" ro
walk_tree "$T/k/wl" > "$T/ng.walk" 2>&1
final_tree "$O/wl.ng.out" > "$T/ng.final"
if ! diff -u --label "end of workload" --label "our image read by the host's kernel ext4" \
        "$T/ng.final" "$T/ng.walk" > "$T/walk.diff.txt"; then
    head -50 "$T/walk.diff.txt" >&2
    fail "the workload's tree on our image, read by kernel ext4, differs from the one it saw at its end ($T/walk.diff.txt)"
fi
for t in "${TREES[@]}"; do
    out=$(diff -r --no-dereference "$t" "$T/k/tree/${t##*/}" 2>&1) ||
        fail "host kernel ext4: tree copy of $t differs: $(echo "$out" | head -5)"
done
umount "$T/k" || fail "umount $T/k"
ng_log "host kernel ext4 read the tree copy back"

if [ $failures -gt 0 ]; then
    echo "$CASE: $failures failure(s); VM outputs in $O, console in $T/console.txt" >&2
    exit 1
fi
ng_log "$KIND $FSTYPE -o $OPTS ($MODE): all checks passed"
exit 0
