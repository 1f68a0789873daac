#!/bin/bash
# fuse2fs-ng test runner: one directory per case, e2fsprogs style.
#
#   bash tests/run.sh [PATTERN...]
#
# Every tests/cases/<name>/ with an executable `script` is a case.  A PATTERN
# is a case name or a shell glob (matrix-*); with none, every case runs.
# Each case runs in a fresh scratch directory T=$TOP/tests/out/<name>
# (exported, also the working directory) with its output in $T/log and a
# time limit from the case's `timeout` file (seconds, default 300; scaled by
# TESTS_TIMEOUT_SCALE).  Exit 0 = pass, 77 = skip, anything else = fail.
# Afterwards, whatever the outcome, everything the case left is cleaned up:
# mounts under $T, loop devices backed by files under $T, and fuse2fs daemons
# (or other stray processes) started on paths under $T.
#
# Environment: FUSE2FS, WORKLOAD (see tests/lib.sh); TESTS_ASAN=1 marks a run
# of a sanitizer build: cases then get ASAN_OPTIONS/UBSAN_OPTIONS with
# log_path=$T/asan and any report file left there fails the case;
# TESTS_OUT puts the scratch directories elsewhere than tests/out;
# TESTS_KEEP=1 keeps the scratch files of passed cases (by default only
# their log and *.txt files stay);
# TESTS_TIMEOUT_SCALE multiplies every time limit (default 1, 3 with
# TESTS_ASAN=1); cases see it as NG_TIME_SCALE.
#
# The last line printed is always "N passed, N failed"; skips are counted on
# the line before it.  A case directory holding a file "xfail" (first line:
# the known bug) is an expected failure: reported as XFAIL, not counted.  The exit status is non-zero if any case failed.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TOP
# shellcheck source=tests/lib.sh
source "$TOP/tests/lib.sh"
export FUSE2FS WORKLOAD

OUT=${TESTS_OUT:-$TOP/tests/out}
SCALE=${TESTS_TIMEOUT_SCALE:-1}
LABEL=""
if [ "${TESTS_ASAN:-0}" = 1 ]; then
    LABEL="[asan] "
    [ "${TESTS_TIMEOUT_SCALE:-}" ] || SCALE=3
fi

# ---------------------------------------------------------------- selection
cases=()
for dir in "$TOP"/tests/cases/*/; do
    dir=${dir%/}
    name=${dir##*/}
    [ -x "$dir/script" ] || [ -f "$dir/script" ] || continue
    if [ $# -gt 0 ]; then
        want=0
        for pat in "$@"; do
            # shellcheck disable=SC2053
            [[ $name == $pat ]] && want=1
        done
        [ $want = 1 ] || continue
    fi
    cases+=("$name")
done

# ---------------------------------------------------------------- cleanup
# Pids of processes (other than us and our ancestors) whose command line has
# an argument under $1/ or whose working directory is under it.
stray_pids() {
    local dir=$1 p self_chain=" $$ " q arg
    q=$$
    while [ "$q" -gt 1 ] 2>/dev/null; do
        q=$(awk '{print $4}' "/proc/$q/stat" 2>/dev/null) || break
        self_chain+="$q "
    done
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $self_chain == *" $p "* ]] && continue
        if [[ $(readlink "/proc/$p/cwd" 2>/dev/null) == "$dir"/* ]]; then
            echo "$p"; continue
        fi
        while IFS= read -r -d '' arg; do
            if [[ $arg == "$dir"/* ]]; then echo "$p"; break; fi
        done 2>/dev/null < "/proc/$p/cmdline"
    done
}

# Mount points at or under $1, deepest first (/proc/mounts escapes blanks).
mounts_under() {
    awk -v t="$1" '$2 == t || index($2, t "/") == 1 {print $2}' /proc/mounts | sort -r
}

# Abort the FUSE connection behind mount point $1, if it is one, so that
# nothing waits on a daemon that is hung or gone.
fuse_abort() {
    local mp=$1 majmin maj min
    majmin=$(awk -v m="$mp" '$5 == m {
            for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) ~ /^fuse/) print $3; break }
        }' /proc/self/mountinfo | tail -1)
    [ -n "$majmin" ] || return 0
    maj=${majmin%:*} min=${majmin#*:}
    if [ -d /sys/fs/fuse/connections ] && ! mountpoint -q /sys/fs/fuse/connections; then
        mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null
    fi
    local c=/sys/fs/fuse/connections/$(( (maj << 20) | min ))
    echo "cleanup: aborting FUSE connection $c for $mp"
    [ -w "$c/abort" ] && echo 1 > "$c/abort" 2>/dev/null
    return 0
}

cleanup_case() {
    local t=$1 m p pids n=0 dev back
    for m in $(mounts_under "$t"); do
        echo "cleanup: unmounting $m"
        if ! timeout 15 umount "$m" 2>/dev/null; then
            fuse_abort "$m"
            timeout 15 umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
        fi
    done
    pids=$(stray_pids "$t")
    if [ -n "$pids" ]; then
        for p in $pids; do
            echo "cleanup: killing stray process $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)"
            kill -TERM "$p" 2>/dev/null
        done
        while [ $n -lt 20 ] && [ -n "$(stray_pids "$t")" ]; do sleep 0.25; n=$((n + 1)); done
        for p in $(stray_pids "$t"); do kill -KILL "$p" 2>/dev/null; done
    fi
    # Mounts may have been left lazily detached; loops can go now.
    while read -r dev back; do
        [[ $back == "$t"/* ]] || continue
        echo "cleanup: detaching $dev ($back)"
        losetup -d "$dev" 2>/dev/null
    done < <(losetup -nl -O NAME,BACK-FILE 2>/dev/null)
    return 0
}

current_t=""
on_signal() {
    echo "interrupted" >&2
    [ -n "$current_t" ] && cleanup_case "$current_t" >&2
    exit 130
}
trap on_signal INT TERM HUP

# ---------------------------------------------------------------- run
mkdir -p "$OUT"
passed=0 failed=0 skipped=0 xfailed=0
failed_names=() skipped_lines=() xfail_names=()
suite_start=$(date +%s)
echo "${LABEL}fuse2fs-ng tests: ${#cases[@]} case(s); FUSE2FS=$FUSE2FS"
[ -x "$FUSE2FS" ] || echo "warning: FUSE2FS=$FUSE2FS is not executable"

for name in "${cases[@]}"; do
    dir=$TOP/tests/cases/$name
    T=$OUT/$name
    export T CASE=$name
    current_t=$T
    cleanup_case "$T" >/dev/null 2>&1      # leftovers of an earlier run
    rm -rf "$T"
    mkdir -p "$T"

    limit=300
    if [ -f "$dir/timeout" ]; then
        limit=$(tr -dc '0-9' < "$dir/timeout")
        [ -n "$limit" ] || limit=300
    fi
    limit=$(awk -v l="$limit" -v s="$SCALE" 'BEGIN {printf "%d", l * s}')
    export NG_TIME_SCALE=$SCALE       # for limits inside a case

    if [ -n "$LABEL" ]; then
        export ASAN_OPTIONS="log_path=$T/asan:${TESTS_ASAN_OPTIONS:-detect_leaks=1}"
        export UBSAN_OPTIONS="log_path=$T/asan:print_stacktrace=1:halt_on_error=1"
    fi

    t0=$(date +%s.%N)
    # timeout(1) runs the case in its own process group and kills the whole
    # group when the limit is reached.
    # (The log is opened for appending so that late writers, such as a
    # process the cleanup kills, cannot overwrite what comes after them.)
    : > "$T/log"
    (cd "$T" && exec timeout -k 10 "$limit" bash "$dir/script") >> "$T/log" 2>&1 < /dev/null
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
    if [ $rc != 0 ] && [ $rc != 77 ] && awk -v s="$secs" -v l="$limit" 'BEGIN {exit !(s >= l - 0.5)}'; then
        echo "TIMEOUT: case exceeded its ${limit}s limit" >> "$T/log"
        rc=124
    fi
    unset ASAN_OPTIONS UBSAN_OPTIONS

    cleanup_case "$T" >> "$T/log" 2>&1

    if [ -n "$LABEL" ]; then
        reports=$(find "$T" -maxdepth 1 -name 'asan*' -type f -size +0 2>/dev/null)
        if [ -n "$reports" ]; then
            {
                for f in $reports; do
                    echo "=== sanitizer report $f (first 50 lines)"; head -n 50 "$f"
                done
                echo "=== sanitizer summaries"
                grep -h -E 'SUMMARY:|runtime error:' $reports | sort | uniq -c
                echo "FAIL: sanitizer report(s): $(echo $reports)"
            } >> "$T/log"
            [ $rc = 0 ] || [ $rc = 77 ] && rc=1
        fi
    fi
    current_t=""

    case $rc in
    0)
        passed=$((passed + 1))
        # Images and trees of a passed case go (the disk may be small);
        # the log and *.txt reports stay.  TESTS_KEEP=1 keeps everything.
        if [ "${TESTS_KEEP:-0}" != 1 ] && [ -z "$(mounts_under "$T")" ]; then
            find "$T" -mindepth 1 -maxdepth 1 ! -name log ! -name '*.txt' \
                -exec rm -rf --one-file-system {} + 2>/dev/null
        fi
        printf '%sPASS  %-28s %7ss\n' "$LABEL" "$name" "$secs"
        ;;
    77)
        skipped=$((skipped + 1))
        why=$(grep -h '^SKIP' "$T/log" | tail -1)
        [ -n "$why" ] || why=$(tail -1 "$T/log")
        printf '%sSKIP  %-28s %7ss  %s\n' "$LABEL" "$name" "$secs" "$why"
        skipped_lines+=("$name")
        ;;
    *)
        if [ -f "$dir/xfail" ]; then
            # A known daemon bug the case exposes, named in the xfail file:
            # reported on every run, not counted as a failure.
            xfailed=$((xfailed + 1))
            printf '%sXFAIL %-28s %7ss  %s (log %s)\n' "$LABEL" "$name" "$secs" \
                "$(head -1 "$dir/xfail")" "$T/log"
            xfail_names+=("$name")
            continue
        fi
        failed=$((failed + 1))
        printf '%sFAIL  %-28s %7ss  (exit %s, log %s)\n' "$LABEL" "$name" "$secs" "$rc" "$T/log"
        tail -n 30 "$T/log" | sed 's/^/    | /'
        failed_names+=("$name")
        ;;
    esac
done

echo "${LABEL}total time $(( $(date +%s) - suite_start ))s"
[ ${#failed_names[@]} = 0 ] || echo "${LABEL}failed: ${failed_names[*]}"
[ "$xfailed" = 0 ] || echo "${LABEL}expected failures (xfail): ${xfail_names[*]}"
echo "${LABEL}skipped: $skipped${skipped_lines[*]:+ (${skipped_lines[*]})}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
