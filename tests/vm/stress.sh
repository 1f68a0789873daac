#!/bin/bash
# Host side of the iomap stress case (tests/cases/iomap-vm-stress): for each
# configuration, boots the fuse-iomap kernel (panic_on_warn=1), runs
# tests/vm/stress-guest.sh there (the multi-process stress, tests/vm/stress.c,
# once per seed, under a hang watchdog), then checks on the host:
#  - the VM ran to the end: no oops or WARN (they kill the run), no hang;
#  - every seed's own checks passed (contents against the model, through the
#    page cache and again after dropping the caches);
#  - the daemon exited 0 and its counters say iomap mode with no file data
#    through FUSE_READ/FUSE_WRITE (data_read_bytes=0, data_write_bytes=0),
#    and no iomap notification the kernel refused (notify_errors=0);
#  - e2fsck -fn is clean;
#  - debugfs reads every owned file with the size and md5 seen in the VM.
#
#   stress.sh CONFIG...    CONFIG: KIND:OPTS, e.g. ext4-1k:iomap=1,iomap_cache=0
#
# Environment: STRESS_SEEDS seeds per configuration (default 6);
# STRESS_SEED0 the first seed (default: from the clock, printed; set it to
# rerun a failure); STRESS_OPS operations per process (default 1000);
# STRESS_PROCS processes (default 4); STRESS_WATCHDOG seconds without
# progress before the watchdog fires (default 90); STRESS_LONG=1: a long
# run (16 seeds of 1000 operations per configuration, about 15 minutes each).
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export TOP
# shellcheck source=tests/lib.sh
source "$TOP/tests/lib.sh"
KIT=$(ng_iomap_kit)
STRESS=${STRESS:-$TOP/tests/vm/stress}
if [ "${STRESS_LONG:-0}" = 1 ]; then
    : "${STRESS_SEEDS:=16}" "${STRESS_OPS:=1000}"
fi
NSEEDS=${STRESS_SEEDS:-6} OPS=${STRESS_OPS:-1000} PROCS=${STRESS_PROCS:-4}
SEED0=${STRESS_SEED0:-$(( ($(date +%s) % 100000) * 100 ))}
: "${T:?T (scratch directory) is not set; run through tests/run.sh}"
T=$(cd "$T" && pwd -P)

[ "$(id -u)" = 0 ] || ng_skip "needs root"
[ -x "$KIT/run-in-vm" ] && [ -r "$KIT/bzImage" ] || ng_skip "no fuse-iomap kernel kit at $KIT (set IOMAP_KERNEL_KIT)"
command -v qemu-system-x86_64 > /dev/null || ng_skip "qemu-system-x86_64 missing (scripts/install-deps.sh installs qemu-system-x86)"
[ -x "$FUSE2FS" ] || ng_skip "daemon $FUSE2FS not built"
[ -x "$STRESS" ] || ng_skip "stress tool $STRESS not built (make check builds it)"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
vmlimit=$(awk -v s="${NG_TIME_SCALE:-1}" -v n="$NSEEDS" -v o="$OPS" \
    'BEGIN {printf "%d", (60 + n * o * 4 / 25) * s}')
ng_log "seeds $SEED0.. ($NSEEDS per configuration), $PROCS processes x $OPS operations; rerun one with STRESS_SEED0=N STRESS_SEEDS=1"

n=0
for config in "$@"; do
    KIND=${config%%:*} OPTS=${config#*:}
    n=$((n + 1))
    O=$T/vm$n
    rm -rf "$O"; mkdir -p "$O"
    seeds=()
    for ((i = 0; i < NSEEDS; i++)); do seeds+=($((SEED0 + (n - 1) * NSEEDS + i))); done
    ng_mkfs "$KIND" "$T/ng$n.img" 512M
    # The guest sees the host read-only except $O: binaries under /tmp
    # (a CI clone) are staged there.
    GFUSE2FS=$(realpath "$FUSE2FS") GSTRESS=$(realpath "$STRESS") GTOP=$TOP
    case "$(realpath "$TOP")|$GFUSE2FS|$GSTRESS" in
    /tmp/* | *"|/tmp/"*)
        GTOP=$O/stage
        mkdir -p "$GTOP/tests/vm"
        cp "$TOP/tests/vm/stress-guest.sh" "$GTOP/tests/vm/" && cp "$GFUSE2FS" "$GTOP/fuse2fs" &&
            cp "$GSTRESS" "$GTOP/stress" || ng_fail "staging the guest's files in $GTOP"
        GFUSE2FS=$GTOP/fuse2fs GSTRESS=$GTOP/stress
        ;;
    esac
    ng_log "VM $n: $KIND, -o kernel,$OPTS, seeds ${seeds[0]}..${seeds[-1]}"
    san=()
    [ -n "${ASAN_OPTIONS:-}" ] && san+=(--env "ASAN_OPTIONS=$ASAN_OPTIONS")
    [ -n "${UBSAN_OPTIONS:-}" ] && san+=(--env "UBSAN_OPTIONS=$UBSAN_OPTIONS")
    t0=$(date +%s)
    (cd "$O" && "$KIT/run-in-vm" --disk "$T/ng$n.img" --timeout "$vmlimit" \
        --append panic_on_warn=1 --log "$O/console.txt" "${san[@]}" \
        --env "FUSE2FS=$GFUSE2FS" --env "STRESS=$GSTRESS" --env "STRESS_OPS=$OPS" \
        --env "STRESS_PROCS=$PROCS" --env "STRESS_WATCHDOG=${STRESS_WATCHDOG:-90}" -- \
        bash "$GTOP/tests/vm/stress-guest.sh" "$O" "$OPTS" "${seeds[@]}")
    vmrc=$?
    ng_log "VM $n finished with status $vmrc after $(( $(date +%s) - t0 ))s"
    grep -h 'FAIL:' "$O/console.txt" | head -20 | sed 's/^/  vm: /' >&2
    case $vmrc in
    0) ;;
    124) fail "$config: the VM run timed out (console: $O/console.txt)"; tail -20 "$O/console.txt" >&2 ;;
    125) fail "$config: the VM died (kernel oops, WARN with panic_on_warn?) (console: $O/console.txt)"
         grep -E 'WARNING|BUG|panic|Oops|RIP:|Call Trace' -A12 "$O/console.txt" | head -60 >&2 ;;
    *) fail "$config: stress-guest.sh reported failures (status $vmrc; console: $O/console.txt)" ;;
    esac
    if [ -s "$O/hang.txt" ]; then
        fail "$config: hang; the watchdog's dump follows ($O/hang.txt)"
        head -150 "$O/hang.txt" >&2
    fi
    grep -h '^stress: seed .* \(passed\|FAILED\)' "$O/stress.txt" 2>/dev/null | sed 's/^/  /' >&2
    if [ ! -f "$O/daemon.rc" ]; then
        fail "$config: the VM run did not get to unmounting"
    else
        counters=$(grep 'counters: mode=' "$O/daemon.log" | tail -1)
        echo "  daemon: $counters" >&2
        cnt() { echo "$counters" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
        [ "$(cnt mode)" = iomap ] || fail "$config: counters: mode=$(cnt mode), want iomap"
        for c in data_read_bytes data_write_bytes notify_errors; do
            [ "$(cnt $c)" = 0 ] || fail "$config: counters: $c=$(cnt $c), want 0"
        done
        [ "$(cnt iomap_begin)" -gt 0 ] 2>/dev/null || fail "$config: counters: no IOMAP_BEGIN"
        case ",$OPTS," in
        *,iomap_cache=0,*) [ "$(cnt upserts)" = 0 ] || fail "$config: upserts=$(cnt upserts) with iomap_cache=0" ;;
        *) [ "$(cnt upserts)" -gt 0 ] 2>/dev/null || fail "$config: upserts=$(cnt upserts), want > 0" ;;
        esac
        grep -E 'classic|refused|iomap (begin|end|ioend) for' "$O/daemon.log" | head -10 | sed 's/^/  daemon: /' >&2
    fi
    out=$(e2fsck -fn "$T/ng$n.img" 2>&1) || { echo "$out" | head -40 >&2; fail "$config: e2fsck -fn is not clean"; }
    # debugfs: every owned file, dumped in one run, against the VM's sums.
    if [ -s "$O/sums" ]; then
        rm -rf "$O/dump"; mkdir "$O/dump"
        awk '{printf "dump -p \"%s\" \"%s/%d\"\n", $1, dir, NR}' dir="$O/dump" "$O/sums" > "$O/dump.cmd"
        debugfs -f "$O/dump.cmd" "$T/ng$n.img" > /dev/null 2>&1
        k=0 bad=0
        while read -r path size sum; do
            k=$((k + 1))
            got="$(stat -c %s "$O/dump/$k" 2>/dev/null) $(md5sum < "$O/dump/$k" 2>/dev/null | cut -c1-32)"
            if [ "$got" != "$size $sum" ]; then
                [ $bad -lt 5 ] && echo "  debugfs: $path: '$got', the VM saw '$size $sum'" >&2
                bad=$((bad + 1))
            fi
        done < "$O/sums"
        [ $bad = 0 ] || fail "$config: debugfs: $bad of $k files differ from what the VM read"
        ng_log "VM $n: debugfs checked $k files"
        rm -rf "$O/dump"
    elif [ "$vmrc" = 0 ]; then
        fail "$config: no files recorded in $O/sums"
    fi
    [ $failures = 0 ] && rm -f "$T/ng$n.img"   # kept for a post-mortem after a failure
done

if [ $failures -gt 0 ]; then
    echo "${CASE:-stress}: $failures failure(s); outputs in $T/vm*; seeds from $SEED0" >&2
    exit 1
fi
ng_log "all configurations passed (seeds from $SEED0)"
exit 0
