#!/bin/bash
# Inline-data checks for the VM cases (guest.sh VM_EXTRA): run on kernel
# ext4 and on fuse2fs-ng over the files inline.populate put in inl/ with
# mke2fs -d (kept in the inode).  In iomap mode the kernel reads and writes
# inline data through FUSE_READ/FUSE_WRITE (the daemon's inline_* counters);
# the transcripts of both filesystems must be identical.
#
#   inline.sh DIR BLOCKSIZE OUTPREFIX      (writes OUTPREFIX.sums)
set -u
DIR=$1 OUT=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failures=0
fail() { echo "FAIL: inline: $*" >&2; failures=$((failures + 1)); }
cd "$DIR/inl" || { echo "FAIL: inline: no $DIR/inl" >&2; exit 1; }
xio() {
    local what=$1 err
    shift
    err=$(xfs_io "$@" 2>&1 >/dev/null)
    if [ -n "$err" ]; then fail "$what: xfs_io $*: $err"; echo "  $what: error"; else echo "  $what: ok"; fi
}
dropcache() { sync; echo 3 > /proc/sys/vm/drop_caches; }
: > "$OUT.sums"

echo "== 1 read inline files (nothing cached)"
dropcache
for f in s13 s40 s59 s100 s150 big3000; do
    echo "  $f: $(stat -c %s "$f") bytes, md5 $(md5sum < "$f" | cut -c1-32)"
done
echo "  mmap read of s59: $(xfs_io -r -c 'mmap -r 0 59' -c 'mread -v 0 59' s59 2>&1 | md5sum | cut -c1-32)"

echo "== 2 change them"
printf 'appended\n' >> s13 || fail "append to s13"
xio "overwrite 5 bytes at 10 of s59" -c "pwrite -q -S 0x61 10 5" s59
xio "grow s100 past what the inode holds (5000 at 100)" -c "pwrite -q -S 0x62 100 5000" s100
xio "truncate s150 to 20, then to 40" -c "truncate 20" -c "truncate 40" s150
xio "mmap write into s40" -c "mmap -rw 0 40" -c "mwrite -S 0x63 5 10" -c "msync -s 0 40" -c "munmap" s40
printf 'new small file\n' > n.small || fail "create n.small"
dropcache
# The mmap write is judged against the bytes it must leave, not against
# kernel ext4: the VM's ext4 (6.16.3) loses it (after msync MS_SYNC and
# drop_caches its s40 has the old contents).  OUT.mmap says what each
# filesystem kept; case.sh requires "kept" from ours and logs ext4's.
want=$(seq 7000 8000 | head -c 40 | python3 -c '
import sys, hashlib
d = bytearray(sys.stdin.buffer.read()); d[5:15] = b"c" * 10
print(hashlib.md5(d).hexdigest())')
got=$(md5sum < s40 | cut -c1-32)
if [ "$got" = "$want" ]; then echo "s40 mmap write: kept" > "$OUT.mmap"
else echo "s40 mmap write: LOST (md5 $got, want $want)" > "$OUT.mmap"; fi
rm -f s40

echo "== 3 read back"
python3 "$HERE/filesum.py" md5 . > "$OUT.before" || fail "reading back"
dropcache
python3 "$HERE/filesum.py" check . "$OUT.before" "$OUT.sums" /inl || fail "reading back after dropping the cache (see above)"
echo "== end of inline checks"
[ $failures = 0 ]
