#!/bin/sh
# Install everything fuse2fs-ng needs to build and test on Debian 12.
# Idempotent: packages already present are left alone.
# fio, fuse2fs (e2fsprogs' daemon, the comparison) and gnuplot-nox (the chart)
# are for bench/run.sh.  Debian's fuse2fs conflicts with our own package
# (fuse2fs-ng, which replaces it): it is left out when fuse2fs-ng is installed.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config qemu-system-x86 busybox-static
      libext2fs-dev comerr-dev e2fsprogs
      libfuse3-dev fuse3
      libsystemd-dev
      acl attr util-linux kmod python3 xfsprogs systemd
      dpkg-dev debhelper debootstrap systemd-container
      fio fuse2fs gnuplot-nox"
if dpkg-query -W -f='${Status}' fuse2fs-ng 2>/dev/null | grep -q 'install ok installed'; then
    echo "install-deps: fuse2fs-ng is installed: not installing Debian's fuse2fs (bench/run.sh compares against it)"
    PKGS=$(echo "$PKGS" | sed 's/ fuse2fs / /')
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
