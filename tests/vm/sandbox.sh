#!/bin/bash
# Runs inside the fuse-iomap VM (tests/cases/iomap-vm-sandbox): the
# sandboxed service twice on /dev/vda, each time under
# systemd-socket-activate + unshare + setpriv as uid 65534, mounted by
# mount.safe with -o iomap=default:
#   plain   no capabilities (the default fuse2fs@.service): the kernel
#           must not grant iomap, data goes through FUSE_READ/WRITE;
#   rawio   CAP_SYS_RAWIO only (systemd/fuse2fs-iomap.conf): iomap.
# Each run writes a file, reads it back after drop_caches, unmounts and
# leaves the daemon's log (with its counters line) in OUTDIR/NAME.log.
#
#   sandbox.sh OUTDIR      (env: FUSE2FS, MOUNT_SAFE)
set -u
O=$1
M=/tmp/m
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
log() { echo "[vm $(date +%T)] $*" >&2; }
mkdir -p "$M"

# The VM kernel may lack some namespaces: then the uid and capability
# part of the sandbox is what is tested (it is what iomap depends on).
NS=(unshare --net --ipc --uts --mount --)
"${NS[@]}" true 2> /dev/null || { log "unshare unavailable in this kernel: setpriv only"; NS=(); }

run() {   # NAME SETPRIV-CAPABILITY-ARGS...
    local name=$1 sock=/tmp/$1.sock act pid
    shift
    systemd-socket-activate --seqpacket --accept -l "$sock" \
        "${NS[@]}" \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$@" --no-new-privs -- \
        "$FUSE2FS" --service 2> "$O/$name.log" &
    act=$!
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    if ! FUSE2FS_SAFE_SOCKET=$sock timeout 60 "$MOUNT_SAFE" /dev/vda "$M" -o iomap=default 2> "$O/$name.mount"; then
        fail "$name: mount.safe: $(cat "$O/$name.mount")"
        kill $act
        return
    fi
    grep " $M " /proc/mounts > "$O/$name.mounts"
    pid=$(pgrep -n -f "fuse2fs --service")
    grep -E '^(Uid|Cap(Prm|Eff|Bnd|Amb)):' /proc/"$pid"/status > "$O/$name.status"
    head -c 8388608 /dev/urandom > /tmp/$name.data
    cp /tmp/$name.data "$M/$name.data" || fail "$name: write"
    sync
    echo 3 > /proc/sys/vm/drop_caches
    cmp /tmp/$name.data "$M/$name.data" || fail "$name: read back"
    umount "$M" || fail "$name: umount"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill $act 2>/dev/null
    wait $act 2>/dev/null
    md5sum < /tmp/$name.data | cut -c1-32 > "$O/$name.md5"
    log "$name: done"
}

run plain --inh-caps=-all --bounding-set=-all
run rawio --inh-caps=-all,+sys_rawio --ambient-caps=-all,+sys_rawio --bounding-set=-all,+sys_rawio
[ $failures = 0 ]
