# Helpers of the journal-* cases (sourced after tests/lib.sh): replay by our
# daemon judged against e2fsck -E journal_only on a copy of the same image.

# jl_view IMAGE: what a user sees, read by debugfs (not through our daemon):
# every file under / (rdump: type, mode, links, owner, size, md5), then the
# free block and inode lists of every group (the allocation bitmaps).
jl_view() {
    local img=$1 d
    d=$(mktemp -d "$T/view.XXXXXX")
    debugfs -R "rdump / $d" "$img" >/dev/null 2>&1
    ng_manifest "$d"
    rm -rf "$d"
    dumpe2fs "$img" 2>/dev/null | grep -E '^  Free (blocks|inodes): '
}

# jl_fsck_rc IMAGE: exit status of e2fsck -fn.
jl_fsck_rc() { e2fsck -fn "$1" >/dev/null 2>&1; echo $?; }

# jl_mount_umount IMAGE MNT [OPTS]: mount with our daemon, note how
# (JL_MODE rw/ro/refusedN, JL_MSG its messages), unmount.
jl_mount_umount() {
    local img=$1 mnt=$2 opts=${3:-} rc
    ng_try_mount "$img" "$mnt" "$opts"
    rc=$?
    JL_MSG=$NG_MOUNT_ERR
    if [ $rc != 0 ]; then
        JL_MODE=refused$rc
        return 0
    fi
    if ng_mount_is_ro "$mnt"; then JL_MODE=ro; else JL_MODE=rw; fi
    ls -laR "$mnt" >/dev/null 2>&1 || true
    ng_umount "$mnt"
}

# jl_compare WHAT IMAGE [OPTS]: replay a copy with e2fsck -p -E journal_only
# and another with our daemon (mount, umount); the views and the e2fsck -fn
# verdicts must be equal (JL_VIEW_ONLY=1: the views only).  JL_MODE/JL_MSG say how our daemon mounted.
# Returns 1 (with the difference on stderr) when they differ.
jl_compare() {
    local what=$1 img=$2 opts=${3:-} a b
    cp --sparse=always "$img" "$T/e2.img"
    cp --sparse=always "$img" "$T/ng.img"
    e2fsck -p -E journal_only "$T/e2.img" >/dev/null 2>&1
    jl_mount_umount "$T/ng.img" "$T/jl-mnt" "$opts"
    jl_view "$T/e2.img" > "$T/view.e2"
    jl_view "$T/ng.img" > "$T/view.ng"
    if ! cmp -s "$T/view.e2" "$T/view.ng"; then
        echo "$what: our replay differs from e2fsck -E journal_only (< e2fsck, > ours):" >&2
        diff "$T/view.e2" "$T/view.ng" | head -20 >&2
        return 1
    fi
    [ -n "${JL_VIEW_ONLY:-}" ] && return 0
    a=$(jl_fsck_rc "$T/e2.img") b=$(jl_fsck_rc "$T/ng.img")
    if [ "$a" != "$b" ]; then
        echo "$what: e2fsck -fn exit $b after our replay, $a after e2fsck's" >&2
        return 1
    fi
    return 0
}

# jl_journal_start IMAGE: "Journal start" of dumpe2fs (0: nothing to replay).
jl_journal_start() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Journal start: *//p'; }

# jl_needs_recovery IMAGE: the superblock has needs_recovery.
jl_needs_recovery() { dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; }
