#!/bin/bash
# Runs inside the VM (tests/vm/stress.sh boots it): mounts /dev/vda with
# fuse2fs in iomap mode and runs the multi-process stress (tests/vm/stress.c)
# once per seed, each seed in a directory of its own, under a hang watchdog.
#
#   stress-guest.sh OUTDIR OPTS SEED... (environment: FUSE2FS, STRESS,
#   STRESS_PROCS, STRESS_OPS, STRESS_WATCHDOG)
#
# Leaves in OUTDIR: daemon.log (with the counters line), daemon.rc,
# stress.txt (what each seed printed), sums ("path size md5" of every file
# the stress owns, read after dropping the caches, for debugfs on the host),
# hang.txt (what the watchdog saw, if it fired), dmesg.txt.  Failures are
# "FAIL: ..." lines on stderr; exit status 1 if any.
set -u
O=$1 OPTS=$2
shift 2
SEEDS=("$@")
M=/tmp/m
PROGRESS=/tmp/stress.progress
WATCH=${STRESS_WATCHDOG:-90}
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
log() { echo "[vm $(date +%T)] $*" >&2; }
phase() { log "$*"; echo "phase $*" > "$PROGRESS"; }
: > "$O/stress.txt"
: > "$O/sums"
rm -f "$O/hang.txt"

mkdir -p "$M"
phase "mount: $FUSE2FS -f -o kernel,$OPTS /dev/vda $M"
"$FUSE2FS" -f -o "kernel,$OPTS" /dev/vda "$M" 2> "$O/daemon.log" &
pid=$!
for _ in $(seq 300); do
    grep -q " $M " /proc/mounts && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
grep -q " $M " /proc/mounts || { fail "fuse2fs did not mount"; cat "$O/daemon.log" >&2; exit 1; }

# The watchdog: when neither the stress's operation count nor the phase
# changes for $WATCH seconds, dump what every thread of the daemon and
# every blocked task is doing, then abort the FUSE connection so the run
# ends (and fails) instead of hanging until the VM's timeout.
hang_dump() {
    local t
    echo "no progress for ${WATCH}s; last: $(cat "$PROGRESS" 2>/dev/null)"
    echo "== daemon threads (pid $pid): kernel stacks"
    for t in /proc/$pid/task/*; do
        echo "-- thread ${t##*/} $(cat "$t/comm" 2>/dev/null) state $(awk '{print $3}' "$t/stat" 2>/dev/null)"
        cat "$t/stack" 2>/dev/null
    done
    echo "== daemon threads: user stacks (gdb)"
    timeout 60 gdb -p $pid -batch -nx -ex 'thread apply all bt' 2>&1 | grep -v '^\[New LWP'
    echo "== blocked (D state) tasks"
    if [ -w /proc/sysrq-trigger ]; then
        echo w > /proc/sysrq-trigger
        dmesg | tail -200
    fi
    for t in /proc/[0-9]*/task/*; do
        [ "$(awk '{print $3}' "$t/stat" 2>/dev/null)" = D ] || continue
        echo "-- task ${t##*/} $(cat "$t/comm" 2>/dev/null) $(tr '\0' ' ' < "${t%/task/*}/cmdline" 2>/dev/null)"
        cat "$t/stack" 2>/dev/null
    done
}
watchdog() {
    local last="" cur still=0
    while sleep 5; do
        cur=$(cat "$PROGRESS" 2>/dev/null)
        if [ "$cur" = "$last" ]; then still=$((still + 5)); else still=0; last=$cur; fi
        [ $still -ge "$WATCH" ] || continue
        hang_dump > "$O/hang.txt" 2>&1
        echo "FAIL: hang: no progress for ${WATCH}s ($last); threads and blocked tasks in hang.txt" >&2
        mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null
        for c in /sys/fs/fuse/connections/*/abort; do echo 1 > "$c"; done
        return
    done
}
watchdog &
wpid=$!

for seed in "${SEEDS[@]}"; do
    phase "seed $seed"
    mkdir "$M/s$seed" || { fail "mkdir s$seed"; break; }
    "$STRESS" -p "${STRESS_PROCS:-4}" -n "${STRESS_OPS:-1000}" -D -P "$PROGRESS" \
        "$M/s$seed" "$seed" >> "$O/stress.txt" 2>&1 || fail "stress seed $seed (see stress.txt)"
    [ -f "$O/hang.txt" ] && break
    # what the host checks with debugfs: the files the stress owns
    phase "seed $seed: sums"
    # (one stat and one md5sum for all: a process costs a lot under TCG;
    # the VM has no /dev/fd, so no <(...))
    # shellcheck disable=SC2046
    (cd "$M" && set -- $(find "s$seed"/p* -type f -name 'f*' | sort) && [ $# -gt 0 ] &&
        stat -c '/%n %s' "$@" > /tmp/sizes && md5sum "$@" | cut -c1-32 > /tmp/md5s &&
        paste -d ' ' /tmp/sizes /tmp/md5s) >> "$O/sums" || fail "sums of seed $seed"
done
grep '^FAIL' "$O/stress.txt" | head -20 >&2

phase "unmount"
sync
umount "$M" || { fail "umount $M"; umount -l "$M"; }
for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
    fail "fuse2fs still running 60 s after umount"
    kill -TERM $pid
    sleep 5
    kill -KILL $pid 2>/dev/null
fi
wait $pid
rc=$?
echo $rc > "$O/daemon.rc"
[ $rc = 0 ] || fail "fuse2fs exited with status $rc"
kill $wpid 2>/dev/null
wait $wpid 2>/dev/null
[ -f "$O/hang.txt" ] && fail "the watchdog fired (hang.txt)"
log "done (daemon exit status $rc)"
dmesg > "$O/dmesg.txt"
if grep -E 'WARNING:|BUG:|Oops|general protection|fuse.*(error|abort)' "$O/dmesg.txt" > "$O/dmesg.bad"; then
    fail "kernel log: $(head -3 "$O/dmesg.bad")"
fi
[ $failures = 0 ]
