# Body of every matrix-<kind> case: sourced by tests/cases/matrix-<kind>/script
# with the kind as $1.
#
# A basic workload is run twice: on an image mounted by our daemon and, as
# the reference, on an image of the same kind mounted by kernel ext4.  Then:
#  - the tree seen through our mount equals the reference (manifest: path,
#    type, mode, links, owner, size, md5 / symlink target; xattrs; times);
#  - after umount, e2fsck -fn is clean;
#  - debugfs reads the expected contents, sizes, link counts, owners and
#    xattrs straight from the image;
#  - kernel ext4 mounting our image read-only sees the reference tree too.
# shellcheck shell=bash
source "$TOP/tests/lib.sh"
set -u
KIND=$1
IMG=$T/ng.img REF=$T/ref.img M=$T/mnt R=$T/ref S=$T/src
STAMP=981173106     # 2001-02-03 04:05:06 UTC
BIG_OFF=$((4 * 1024 * 1024 * 1024 + 4096))      # data past 4 GiB in /sparse
NMANY=300

trap 'ng_cleanup' EXIT

# Source data, identical for both runs.
mkdir -p "$S"
printf x > "$S/one"
head -c 4097 /dev/urandom > "$S/f4097"
head -c 4096 /dev/urandom > "$S/f4096"
head -c 8192 /dev/urandom > "$S/f8k"
head -c $((5 * 1024 * 1024)) /dev/urandom > "$S/f5m"
head -c 500 /dev/urandom | base64 -w0 > "$S/xval"        # 676 bytes
LONGNAME=$(printf 'long_name_%.0s' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22)_end
LONGLINK=$(printf './%.0s' $(seq 100))one                  # 203 chars, resolves
DANGLING=d2/nonexistent_$(printf 'y%.0s' $(seq 70))         # > 60 chars

# workload DIR: the operations under test; every step must succeed.
workload() {
    local d=$1 i
    mkdir -p "$d/d1/d2/d3"
    mkdir "$d/emptydir"
    : > "$d/empty"
    cp "$S/one" "$d/one"
    cat "$S/f4097" > "$d/d1/f4097"
    cp "$S/f4096" "$d/f4096"
    dd if="$S/f5m" of="$d/d1/d2/f5m" bs=1M status=none
    # Partial overwrite and extension in the middle of an existing file.
    cp "$S/f8k" "$d/d1/patched"
    dd if="$S/f4097" of="$d/d1/patched" bs=1000 seek=3 count=2 conv=notrunc status=none
    printf tail >> "$d/d1/patched"
    # Sparse: a block at 0, a hole, 8 KiB past 4 GiB.
    dd if="$S/f4096" of="$d/sparse" bs=4096 count=1 status=none
    dd if="$S/f8k" of="$d/sparse" bs=4096 seek=$((BIG_OFF / 4096)) conv=notrunc status=none
    # Truncate down and up.
    cp "$S/f8k" "$d/d1/trunc"
    truncate -s 5000 "$d/d1/trunc"
    truncate -s 20000 "$d/d1/trunc"
    # Symlinks: fast, long (slow or inline), dangling long.
    ln -s one "$d/sym_short"
    ln -s "$LONGLINK" "$d/sym_long"
    ln -s "$DANGLING" "$d/d1/sym_dangling"
    cp "$S/f4097" "$d/d1/$LONGNAME"
    ln -s "d1/$LONGNAME" "$d/sym_to_longname"
    # Hard links.
    ln "$d/one" "$d/d1/one.hard"
    ln "$d/d1/d2/f5m" "$d/d1/d2/d3/f5m.hard"
    # Renames: same dir, across dirs, over an existing file, a directory.
    mv "$d/d1/f4097" "$d/d1/f4097.renamed"
    cp "$S/f4097" "$d/tmp1"
    mv "$d/tmp1" "$d/d1/d2/moved"
    echo old > "$d/victim"
    cp "$S/f4096" "$d/replacer"
    mv "$d/replacer" "$d/victim"
    mkdir -p "$d/dirA/sub"
    mv "$d/dirA" "$d/d1/d2/dirB"
    # Unlink and rmdir.
    cp "$S/f5m" "$d/gone"
    rm "$d/gone"
    mkdir "$d/gonedir"
    rmdir "$d/gonedir"
    # A directory big enough to need several blocks (htree on dir_index).
    mkdir "$d/many"
    for i in $(seq $NMANY); do
        : > "$d/many/entry_with_a_fairly_long_name_$i"
    done
    for i in $(seq 1 3 $NMANY); do
        rm "$d/many/entry_with_a_fairly_long_name_$i"
    done
    # Attributes.
    chmod 0640 "$d/d1/f4097.renamed"
    chmod 4755 "$d/d1/d2/moved"
    chmod 1777 "$d/emptydir"
    chmod 0700 "$d/d1/d2/d3"
    chown 1234:5678 "$d/d1/d2/f5m"
    chown -h 42:43 "$d/sym_short"
    chown 7:8 "$d/d1"
    touch -d @$STAMP "$d/f4096"
    touch -m -d @$((STAMP + 1)) "$d/empty"
    # Extended attributes: small (in inode), big (xattr block), on a dir,
    # trusted namespace, one removed again.
    setfattr -n user.small -v hello "$d/one"
    setfattr -n user.big -v "$(cat "$S/xval")" "$d/d1/d2/f5m"
    setfattr -n user.dir -v 0x00ff00 "$d/d1"
    setfattr -n trusted.t -v 0x0102 "$d/empty"
    setfattr -n user.gone -v x "$d/one"
    setfattr -x user.gone "$d/one"
}

# run_workload DIR: the workload, stopping at (and naming) the first failure.
run_workload() {
    ( set -eE
      trap 'echo "workload: line $LINENO failed: $BASH_COMMAND" >&2' ERR
      workload "$1" )
}

# check_view DIR WHAT: DIR shows the reference tree.
check_view() {
    local d=$1 what=$2
    ng_manifest "$d" > "$T/manifest.$what"
    diff -u "$T/manifest.ref" "$T/manifest.$what" ||
        ng_fail "$what: tree differs from the reference (manifest above)"
    ng_xattrs "$d" > "$T/xattrs.$what"
    diff -u "$T/xattrs.ref" "$T/xattrs.$what" ||
        ng_fail "$what: xattrs differ from the reference"
    # (atime is not compared: reading the tree updates it under relatime.)
    [ "$(stat -c %Y "$d/f4096")" = "$STAMP" ] ||
        ng_fail "$what: mtime of /f4096 is $(stat -c %Y "$d/f4096"), want $STAMP"
    [ "$(stat -c %Y "$d/empty")" = $((STAMP + 1)) ] || ng_fail "$what: mtime of /empty"
    # The 4 GiB file: data at both ends, zeros in the hole, hole not filled.
    [ "$(stat -c %s "$d/sparse")" = $((BIG_OFF + 8192)) ] || ng_fail "$what: size of /sparse"
    cmp <(dd if="$d/sparse" bs=4096 count=1 status=none) "$S/f4096" ||
        ng_fail "$what: /sparse first block"
    cmp <(dd if="$d/sparse" bs=4096 skip=$((BIG_OFF / 4096)) status=none) "$S/f8k" ||
        ng_fail "$what: /sparse data past 4 GiB"
    cmp <(dd if="$d/sparse" bs=4096 skip=1000 count=16 status=none) <(head -c 65536 /dev/zero) ||
        ng_fail "$what: /sparse hole does not read as zeros"
    [ "$(stat -c %b "$d/sparse")" -lt 512 ] ||
        ng_fail "$what: /sparse uses $(stat -c %b "$d/sparse") sectors: hole allocated?"
    [ "$(readlink "$d/sym_long")" = "$LONGLINK" ] || ng_fail "$what: readlink sym_long"
    cmp "$d/sym_long" "$S/one" || ng_fail "$what: reading through sym_long"
    cmp "$d/sym_to_longname" "$S/f4097" || ng_fail "$what: reading through sym_to_longname"
    [ "$(ls "$d/many" | wc -l)" = $((NMANY - (NMANY + 2) / 3)) ] || ng_fail "$what: entries in /many"
    ng_log "$what: tree, xattrs, times and the sparse file match the reference"
}

# --- Reference: the same workload on kernel ext4.
ng_log "kind $KIND: reference run on kernel ext4"
ng_mkfs "$KIND" "$REF" 128M
ng_kmount "$REF" "$R"
run_workload "$R"     # (not in an || list: that would disable set -e)
[ $? = 0 ] || ng_fail "workload failed on kernel ext4 (test bug)"
ng_manifest "$R" > "$T/manifest.ref"
ng_xattrs "$R" > "$T/xattrs.ref"
umount "$R" || ng_fail "umount reference"

# --- Our daemon.
ng_log "kind $KIND: workload through $FUSE2FS"
ng_mkfs "$KIND" "$IMG" 128M
ng_mount "$IMG" "$M"
ng_is_fuse "$M" || ng_fail "$M is not a FUSE mount"
run_workload "$M"
[ $? = 0 ] || ng_fail "workload failed through our mount"
check_view "$M" fuse
ng_umount "$M"
ng_fsck "$IMG"
ng_log "e2fsck -fn clean"

# --- What is on the image, read by debugfs.
dstat() { debugfs -R "stat \"$1\"" "$IMG" 2>/dev/null; }
# field IMGPATH NAME: the number after "NAME:" in debugfs stat.
field() { dstat "$1" | grep -o "$2: *[0-9]*" | head -1 | grep -o '[0-9]*$'; }
expect_field() {
    local got
    got=$(field "$1" "$2")
    [ "$got" = "$3" ] || ng_fail "debugfs: $1 $2 is '$got', want $3"
}
# (debugfs 1.47.0 cats the whole inline-data area of a small inline file,
# so only the first i_size bytes are compared.)
expect_cat() {
    local size
    size=$(field "$1" Size)
    [ "$size" = "$(stat -c %s "$2")" ] || ng_fail "debugfs: size of $1 is '$size', want $(stat -c %s "$2")"
    cmp <(ng_debugfs_cat "$IMG" "$1" | head -c "$size") "$2" ||
        ng_fail "debugfs: content of $1 differs from $2"
}
# expect_ea IMGPATH NAME VALUEFILE
expect_ea() {
    rm -f "$T/ea.out"
    debugfs -R "ea_get -f \"$T/ea.out\" \"$1\" $2" "$IMG" >/dev/null 2>&1
    cmp -s "$T/ea.out" "$3" || ng_fail "debugfs: xattr $2 of $1: $(debugfs -R "ea_get \"$1\" $2" "$IMG" 2>&1 | tail -1)"
}
expect_field /one Links 2
expect_field /one Size 1
expect_field /empty Size 0
expect_field /d1/d2/f5m Size $((5 * 1024 * 1024))
expect_field /d1/d2/f5m Links 2
expect_field /d1/d2/f5m User 1234
expect_field /d1/d2/f5m Group 5678
expect_field /d1/f4097.renamed Size 4097
expect_field /sparse Size $((BIG_OFF + 8192))
expect_field /d1/trunc Size 20000
expect_field /d1/d2 Links 4            # ., d1's entry, d3/.., dirB/..
expect_cat /one "$S/one"
expect_cat /d1/one.hard "$S/one"
expect_cat /d1/f4097.renamed "$S/f4097"
expect_cat /d1/d2/moved "$S/f4097"
expect_cat /d1/d2/f5m "$S/f5m"
expect_cat /d1/d2/d3/f5m.hard "$S/f5m"
expect_cat "/d1/$LONGNAME" "$S/f4097"
expect_cat /victim "$S/f4096"
dstat /sym_short | grep -q 'Fast link dest: "one"' || ng_fail "debugfs: /sym_short target"
[ "$(ng_debugfs_cat "$IMG" /sym_long)" = "$LONGLINK" ] ||
    dstat /sym_long | grep -qF "$LONGLINK" || ng_fail "debugfs: /sym_long target"
debugfs -R "ls /" "$IMG" 2>/dev/null | grep -qw gone && ng_fail "debugfs: /gone still listed"
debugfs -R "ls /" "$IMG" 2>/dev/null | grep -qw gonedir && ng_fail "debugfs: /gonedir still listed"
printf hello > "$T/hello"
expect_ea /one user.small "$T/hello"
expect_ea /d1/d2/f5m user.big "$S/xval"
debugfs -R "ea_list /one" "$IMG" 2>/dev/null | grep -q user.gone && ng_fail "debugfs: user.gone still there"
ng_log "debugfs sees the expected contents"

# --- Kernel ext4 reads what we wrote.
ng_kmount "$IMG" "$R" ro
check_view "$R" kernel
umount "$R" || ng_fail "umount kernel mount"
ng_fsck "$IMG"
ng_log "kind $KIND: ok"
