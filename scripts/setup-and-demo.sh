#!/bin/bash
# One command from a fresh checkout to a working demo:
#   1. install build and runtime dependencies (scripts/install-deps.sh)
#   2. build (autoreconf + configure the first time, then just make)
#   3. run scripts/demo.sh (mount an ext4 image, write, unmount, fsck)
# Exit status is non-zero if any stage fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
banner() { printf '\n%s######## %s ########%s\n' "$B" "$*" "$N"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

banner "1/3 Install dependencies"
sh ./scripts/install-deps.sh

banner "2/3 Build"
if [ -f Makefile ] && [ -x config.status ]; then
    # Already configured: make reruns autoconf/automake/configure itself if
    # configure.ac or Makefile.am changed.
    echo "already configured; running make"
else
    autoreconf -fi
    ./configure
fi
make -j2
[ -x misc/fuse2fs ] || { echo "build did not produce misc/fuse2fs" >&2; exit 1; }

banner "3/3 Demo"
$SUDO ./scripts/demo.sh
