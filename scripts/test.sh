#!/bin/bash
# The test command (CI runs exactly this, through .ci/run).  As root:
#   1. install the Debian packages (scripts/install-deps.sh);
#   2. build: autoreconf -fi && ./configure && make -j2;
#   3. make check: every case of tests/run.sh against misc/fuse2fs;
#   4. build a second tree with --enable-asan (ASan + UBSan) in build-asan/
#      and run the integration cases against that daemon, where any sanitizer
#      report fails the case.
# The last line is "N passed, N failed", summed over both runs (a build that
# fails counts as one failure); the exit status is non-zero on any failure.
#
# Environment: TESTS_NO_ASAN=1 skips steps 4 (quicker local runs);
# TESTS_ASAN_CASES overrides the case patterns of the sanitizer run.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
ASAN_CASES=${TESTS_ASAN_CASES:-"matrix-ext4 tree-usr-include corpus bad-input conformance-ext4 stress-random stress-enospc fuzz-metadata errors-policy inline-data alloc-exact sandbox-mount damage-inject"}
passed=0 failed=0 skipped=0
start=$(date +%s)

step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

# count LOG: add the "N passed, N failed" and "skipped: N" of a run's log.
count() {
    local line p f s
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
    if [ -z "$line" ]; then
        echo "test.sh: no result line in $1: counted as one failure"
        failed=$((failed + 1))
        return
    fi
    p=${line%% passed*}
    f=${line#*, }; f=${f%% failed*}
    s=$(sed -n 's/^\(\[asan\] \)\{0,1\}skipped: \([0-9]*\).*/\2/p' "$1" | tail -1)
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

finish() {
    echo
    echo "test.sh: done in $(( $(date +%s) - start ))s"
    echo "skipped: $skipped"
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

mkdir -p tests/out
LOGS=$TOP/tests/out

step "dependencies"
if ! sh scripts/install-deps.sh; then
    echo "test.sh: scripts/install-deps.sh failed"
    failed=$((failed + 1)); finish
fi

step "build"
if ! { autoreconf -fi && ./configure && make -j2; } > "$LOGS/build.log" 2>&1; then
    tail -n 40 "$LOGS/build.log"
    echo "test.sh: build failed (log: $LOGS/build.log)"
    failed=$((failed + 1)); finish
fi
echo "built misc/fuse2fs"

step "make check"
make -j2 check 2>&1 | tee "$LOGS/check.log"
count "$LOGS/check.log"

if [ "${TESTS_NO_ASAN:-0}" = 1 ]; then
    echo "TESTS_NO_ASAN=1: sanitizer run left out"
    finish
fi

# The sanitizer build needs a source tree of its own: configure refuses to
# build out of tree beside an in-tree build, and make's VPATH would pick up
# the in-tree objects.  build-asan/src is a copy of the sources (what git
# tracks or would track), refreshed on each run so only changes recompile.
step "asan build"
ASRC=$TOP/build-asan/src
mkdir -p "$ASRC"
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$ASRC"
else
    tar --exclude=./build-asan --exclude=./tests/out --exclude='*.o' --exclude='*.a' \
        --exclude=./config.status --exclude=./Makefile --exclude=./config.h -cf - . |
        tar -xf - -C "$ASRC"
fi
if ! { cd "$ASRC" &&
       { [ -x configure ] || autoreconf -fi; } &&
       { [ -f config.status ] || ./configure --enable-asan; } &&
       make -j2 misc/fuse2fs misc/mount.safe; } > "$LOGS/build-asan.log" 2>&1; then
    tail -n 40 "$LOGS/build-asan.log"
    echo "test.sh: asan build failed (log: $LOGS/build-asan.log)"
    failed=$((failed + 1)); finish
fi
cd "$TOP" || exit 1
grep -q 'fsanitize=address' "$ASRC/Makefile" || {
    echo "test.sh: build-asan is not a sanitizer build"; failed=$((failed + 1)); finish; }
echo "built $ASRC/misc/fuse2fs"

step "integration cases against the asan build"
# shellcheck disable=SC2086
TESTS_ASAN=1 TESTS_OUT=$TOP/tests/out/asan \
    FUSE2FS=$ASRC/misc/fuse2fs MOUNT_SAFE=$ASRC/misc/mount.safe \
    WORKLOAD=$TOP/tests/conformance/workload \
    bash tests/run.sh $ASAN_CASES 2>&1 | tee "$LOGS/check-asan.log"
count "$LOGS/check-asan.log"
finish
