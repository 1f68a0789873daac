#!/bin/bash
# I/O battery for the real-kernel (VM) cases: run inside the VM on a
# directory of a mounted filesystem, once on the reference (kernel ext4) and
# once on fuse2fs-ng; the two transcripts must be identical.
#
#   io.sh DIR BLOCKSIZE OUTPREFIX [DEVICE_BYTES]
#
# Size classes (sub-block, block, multi-block, multi-MiB, unaligned) written
# buffered and with O_DIRECT, appends (O_APPEND, O_APPEND|O_DIRECT), sparse
# writes, fallocate / punch / zero-range, truncate up and down, mmap writes,
# hard links.  Then every file is read back: buffered before and after
# dropping the page cache (must agree), and with O_DIRECT (must agree), and
# its SEEK_DATA/SEEK_HOLE map is printed.
#
# stdout: the transcript (deterministic, compared with the reference).
# OUTPREFIX.sums: "path size md5" for every file (host checks them with
# debugfs after unmounting).  With DEVICE_BYTES (ours only): FIEMAP checks
# (physical extents inside the device, no delalloc after fsync, unwritten
# flags where fallocate left unwritten space) and OUTPREFIX.fiemap, the raw
# extents, which the host compares with the extent tree debugfs reads.
# Failures are printed as "FAIL: ..." on stderr; exit status 1 if any.
set -u
DIR=$1 B=$2 OUT=$3 DEVBYTES=${4:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failures=0
fail() { echo "FAIL: io: $*" >&2; failures=$((failures + 1)); }

cd "$DIR" || { echo "FAIL: io: cannot cd $DIR" >&2; exit 1; }
mkdir io || { echo "FAIL: io: mkdir io" >&2; exit 1; }
cd io || exit 1
: > "$OUT.sums"
[ -n "$DEVBYTES" ] && : > "$OUT.fiemap"

# xio WHAT XFS_IO-ARGS...: run xfs_io; anything on stderr is a failure.
# (xfs_io's exit status does not tell whether a command failed.)
xio() {
    local what=$1 err
    shift
    err=$(xfs_io "$@" 2>&1 >/dev/null)
    if [ -n "$err" ]; then
        fail "$what: xfs_io $*: $err"
        echo "  $what: error"
    else
        echo "  $what: ok"
    fi
}
dropcache() { sync; echo 3 > /proc/sys/vm/drop_caches; }

K=1024 M=1048576
echo "== 1 buffered writes (block size $B)"
xio "sub-block"        -f -c "pwrite -q -S 0x11 0 100" b.sub
xio "one block"        -f -c "pwrite -q -S 0x12 0 $B" b.blk
xio "five blocks"      -f -c "pwrite -q -S 0x13 0 $((5 * B))" b.multi
xio "8 MiB, 1 MiB writes" -f -c "pwrite -q -S 0x14 -b 1m 0 8m" b.mib
xio "unaligned at 777" -f -c "pwrite -q -S 0x15 777 $((3 * B + 333))" b.unal
xio "overwrite across a block boundary" -c "pwrite -q -S 0x16 $((B - 10)) 20" b.multi
xio "overwrite 70000 at 3 MiB+5" -c "pwrite -q -S 0x17 $((3 * M + 5)) 70000" b.mib
xio "4 KiB writes in 64 KiB" -f -c "pwrite -q -S 0x18 -b 4k 0 64k" b.small4k

echo "== 2 O_DIRECT writes"
xio "one block"        -f -d -c "pwrite -q -S 0x21 0 $B" d.blk
xio "16 blocks"        -f -d -c "pwrite -q -S 0x22 0 $((16 * B))" d.multi
xio "6 MiB, 1 MiB writes" -f -d -c "pwrite -q -S 0x23 -b 1m 0 6m" d.mib
xio "into a hole at 2 blocks" -f -d -c "pwrite -q -S 0x24 $((2 * B)) $((3 * B))" d.hole
xio "overwrite a mapped block" -d -c "pwrite -q -S 0x25 $B $B" d.mib
xio "extend at EOF"    -d -c "pwrite -q -S 0x26 6m $((2 * B))" d.mib
xio "sector-aligned, sub-block (512 at 512)" -f -d -c "pwrite -q -S 0x27 512 1024" d.sect
xio "sector-aligned overwrite" -d -c "pwrite -q -S 0x28 $((B + 512)) 512" d.multi
xio "past EOF, leaving a gap" -d -c "pwrite -q -S 0x29 $((40 * B)) $B" d.multi
xio "buffered write then O_DIRECT overwrite of the same block" -f \
    -c "pwrite -q -S 0x2a 0 $((4 * B))" -c "open -d d.mixed" -c "pwrite -q -S 0x2b $B $B" d.mixed

echo "== 3 appends"
for i in 1 2 3 4 5; do
    xio "O_APPEND $((i * 1000)) bytes" -f -a -c "pwrite -q -S 0x3$i 0 $((i * 1000))" a.small
done
xio "O_APPEND 1 MiB" -a -c "pwrite -q -S 0x36 0 1m" a.small
printf 'a line appended by the shell\n' >> a.small || fail "shell append to a.small"
for i in 1 2 3; do
    xio "O_APPEND|O_DIRECT one block ($i)" -f -a -d -c "pwrite -q -S 0x3$((6 + i)) 0 $B" a.direct
done

echo "== 4 sparse files"
xio "writes at 0, 10 MiB+123 and 24 MiB" -f -c "pwrite -q -S 0x41 0 $B" \
    -c "pwrite -q -S 0x42 $((10 * M + 123)) 5000" -c "pwrite -q -S 0x43 24m $B" s.sparse
xio "truncate to 12 MiB, one block at 6 MiB" -f -c "truncate 12m" -c "pwrite -q -S 0x44 6m 4096" s.trunc

echo "== 5 fallocate, punch, zero range"
xio "falloc 1 MiB" -f -c "falloc 0 1m" f.alloc
xio "write one block into it at 64 KiB" -c "pwrite -q -S 0x51 64k $B" -c fsync f.alloc
xio "1 MiB, then falloc -k 1 MiB past EOF" -f -c "pwrite -q -S 0x52 0 1m" -c "falloc -k 1m 1m" f.keep
xio "2 MiB, punch [100 KiB,+256 KiB) and [1000,+3000)" -f -c "pwrite -q -S 0x53 0 2m" \
    -c "fpunch 100k 256k" -c "fpunch 1000 3000" -c fsync f.punch
xio "punch the last block" -c "fpunch $((2 * M - B)) $B" f.punch
xio "2 MiB, zero [512 KiB,+128 KiB), [70000,+5000), 2 MiB+64 KiB (extends), -k past EOF" -f \
    -c "pwrite -q -S 0x54 0 2m" -c "fzero 512k 128k" -c "fzero 70000 5000" \
    -c "fzero 2m 64k" -c "fzero -k 3m 64k" f.zero
xio "falloc 1 MiB, O_DIRECT write of 2 blocks into it" -f -c "falloc 0 1m" f.dio
xio "  (the write)" -d -c "pwrite -q -S 0x55 $((8 * B)) $((2 * B))" f.dio
xio "falloc, buffered write straddling its end" -f -c "falloc 0 64k" -c "pwrite -q -S 0x56 60k 8k" f.strad

echo "== 6 truncate"
xio "1 MiB, truncate up to 5 MiB, 100 bytes at 4 MiB" -f -c "pwrite -q -S 0x61 0 1m" \
    -c "truncate 5m" -c "pwrite -q -S 0x62 4m 100" t.up
xio "1 MiB, truncate down to 5000" -f -c "pwrite -q -S 0x63 0 1m" -c "truncate 5000" t.down
dropcache
xio "truncate up to 9000 (the old tail must read as zeros)" -c "truncate 9000" t.down
xio "3 blocks, truncate 0, 50 bytes at 100" -f -c "pwrite -q -S 0x64 0 $((3 * B))" \
    -c "truncate 0" -c "pwrite -q -S 0x65 100 50" t.zero
xio "2 MiB, truncate to 1 block + 1 (O_DIRECT writes before)" -f -d -c "pwrite -q -S 0x66 -b 1m 0 2m" \
    -c "truncate $((B + 1))" t.dio

echo "== 7 mmap writes"
xio "into a hole (truncate 1 MiB, mwrite, msync)" -f -c "truncate 1m" -c "mmap -rw 0 1m" \
    -c "mwrite -S 0x71 4096 8192" -c "mwrite -S 0x72 500000 3" -c "msync -s 0 1m" -c "munmap" m.hole
xio "over written data (no msync, fsync)" -f -c "pwrite -q -S 0x73 0 256k" -c "mmap -rw 0 256k" \
    -c "mwrite -S 0x74 1000 70000" -c "munmap" -c fsync m.over
xio "into fallocated space" -f -c "falloc 0 128k" -c "mmap -rw 0 128k" \
    -c "mwrite -S 0x75 8192 100" -c "msync -s 0 128k" -c "munmap" m.unw

echo "== 8 hard links"
xio "4 blocks" -f -c "pwrite -q -S 0x81 0 $((4 * B))" h.a
ln h.a h.b || fail "ln h.a h.b"
xio "buffered write through the second name" -c "pwrite -q -S 0x82 $B 100" h.b
xio "O_DIRECT write through the first name" -d -c "pwrite -q -S 0x83 $((2 * B)) $B" h.a
ia=$(stat -c %i h.a) ib=$(stat -c %i h.b)
[ "$ia" = "$ib" ] || fail "hard links h.a h.b: inode $ia != $ib"
echo "  same inode: $([ "$ia" = "$ib" ] && echo yes || echo no), nlink $(stat -c %h h.a)"
[ "$(md5sum < h.a)" = "$(md5sum < h.b)" ] || fail "h.a and h.b (hard links) read different data"
dropcache
[ "$(md5sum < h.a)" = "$(md5sum < h.b)" ] || fail "h.a and h.b (hard links) differ after dropping the cache"

echo "== 9 O_DIRECT reads of parts of files"
# (sector-aligned offsets: kernel ext4 and FUSE iomap need logical-block alignment)
for spec in "b.multi 3 5" "b.mib 2048 4096" "d.sect 0 4" "t.up 8 2048" "s.sparse 20472 16"; do
    set -- $spec
    a=$(dd if="$1" iflag=direct bs=512 skip="$2" count="$3" 2>/dev/null | md5sum | cut -c1-32)
    b=$(dd if="$1" bs=512 skip="$2" count="$3" 2>/dev/null | md5sum | cut -c1-32)
    echo "  $1 sectors [$2,+$3): $b"
    [ "$a" = "$b" ] || fail "$1 sectors [$2,+$3): O_DIRECT read $a, buffered read $b"
done

echo "== 10 what every file holds"
# (one python process: SEEK_DATA/SEEK_HOLE maps first, with nothing cached,
# so unwritten extents read as holes on both filesystems; then buffered and
# O_DIRECT reads, compared with what was read before dropping the cache.)
python3 "$HERE/filesum.py" md5 . > "$OUT.before" || fail "reading the files back"
dropcache
python3 "$HERE/filesum.py" check . "$OUT.before" "$OUT.sums" /io || fail "reading the files back after dropping the cache (see above)"

echo "== end of io battery"
if [ -n "$DEVBYTES" ]; then
    # (not in the transcript, which is compared with kernel ext4's)
    exec > "$OUT.fiemap.txt"
    echo "== 11 FIEMAP (ours only)"
    sync
    nsect=$((DEVBYTES / 512)) spb=$((B / 512))
    # (mawk has no strtonum/and: FIEMAP flags are printed in hex)
    AWKHEX='function hex(s,  i, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
        for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
        return v }
        function bit(v, b) { return int(v / b) % 2 }
        ' 
    for f in $(ls | LC_ALL=C sort); do
        fm=$(xfs_io -r -c "fiemap -v" "$f" 2>&1) || fail "$f: fiemap: $fm"
        # lines like "   0: [0..7]:   2048..2055   8   0x1"
        echo "$fm" | awk -v f="$f" '$3 != "hole" && $2 ~ /^\[/ {
                gsub(/[\[\]:]/, "", $2); split($2, l, "\\.\\."); split($3, p, "\\.\\.")
                print f, l[1], l[2], p[1], p[2], $5 }' >> "$OUT.fiemap"
    done
    # Physical extents inside the device, block-aligned, no delalloc left
    # after sync, and not at block 0 (superblock area).
    bad=$(awk -v n="$nsect" -v spb="$spb" "$AWKHEX"'
        { fl = hex($6) }
        $4 < spb || $5 >= n || $4 % spb || ($5 + 1) % spb || ($3 - $2) != ($5 - $4) ||
        bit(fl, 4) || bit(fl, 2) { print }' "$OUT.fiemap")
    [ -z "$bad" ] || fail "FIEMAP extents outside the device ($nsect sectors), misaligned or delalloc/unknown after sync: $bad"
    # unwritten flags (0x800) where fallocate left space never written.
    unw() { awk -v f="$1" -v s="$2" "$AWKHEX"'$1 == f && $2 <= s && s <= $3 {print (bit(hex($6), 2048) ? "unwritten" : "written")}' "$OUT.fiemap"; }
    expect_state() {   # FILE BYTE-OFFSET STATE
        local got
        got=$(unw "$1" $(($2 / 512)))
        [ "$got" = "$3" ] || fail "FIEMAP $1 at byte $2: '${got:-not mapped}', want $3"
        echo "  $1 at $2: ${got:-not mapped}"
    }
    expect_state f.alloc 0 unwritten
    expect_state f.alloc $((64 * K)) written
    expect_state f.alloc $((64 * K + B)) unwritten
    expect_state f.keep 0 written
    expect_state f.keep $((M + 4 * B)) unwritten
    expect_state f.dio $((8 * B)) written
    expect_state f.dio 0 unwritten
    expect_state f.strad 0 unwritten
    expect_state f.strad $((62 * K)) written
    expect_state m.unw 8192 written
    expect_state m.unw 0 unwritten
    expect_state b.mib $((5 * M)) written
    expect_state d.mib $((6 * M)) written
    for f in b.sub b.blk b.multi b.mib d.mib a.small s.sparse m.over; do
        n=$(awk -v f="$f" "$AWKHEX"'$1 == f && bit(hex($6), 2048)' "$OUT.fiemap" | wc -l)
        [ "$n" = 0 ] || fail "FIEMAP $f: $n unwritten extent(s) in a file that was only written"
    done
    [ -n "$(awk '$1 == "s.sparse" && $2 == 0' "$OUT.fiemap")" ] || fail "FIEMAP s.sparse: block 0 not mapped"
    echo "  $(wc -l < "$OUT.fiemap") extents checked"
fi
[ $failures = 0 ]
