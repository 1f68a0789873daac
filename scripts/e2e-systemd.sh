#!/bin/bash
# End-to-end test of the sandboxed service under a real systemd (as root).
#
#   scripts/e2e-systemd.sh [PACKAGE.deb]
#   scripts/e2e-systemd.sh --boot-only
#
# This machine does not run systemd as PID 1, so the test boots a Debian 12
# root file system with systemd-nspawn, where systemd is PID 1:
#   1. installs debootstrap and systemd-container when they are missing;
#   2. builds that root file system once with debootstrap and keeps it as a
#      tarball under $E2E_CACHE (default /var/cache/fuse2fs-ng-e2e), so
#      later runs start from the tarball;
#   3. builds the fuse2fs-ng package (dpkg-buildpackage in a temporary clone
#      of HEAD; with E2E_WORKTREE=1 from the work tree as it is, uncommitted
#      files included) unless a .deb is given, and installs it into a fresh
#      copy of the root file system;
#   4. makes an ext4 image on a host loop device and boots the container
#      with /dev/fuse and that loop device (as /dev/loop7) bound in;
#   5. a oneshot unit inside starts fuse2fs.socket, mounts with
#      `mount -t safe.ext4`, writes and reads files, checks the instance
#      (DynamicUser, uid != 0, no capabilities, exposure), unmounts, mounts
#      once more and powers off with that mount still up;
#   6. on the host: e2fsck -fn must be clean, debugfs must show the files,
#      and the console log must show that shutdown unmounted the filesystem
#      and never stopped the server (which then finished by itself).
# --boot-only skips the package and the image: it proves that the container
# boots with systemd as PID 1 and runs a test unit.
#
# The last line is "E2E PASS" or "E2E FAIL: reason"; exit status 0 or 1.
# Every step has a time limit (the boot at most E2E_BOOT_TIMEOUT, 600 s).
# E2E_KEEP=1 keeps the work directory (logs, root file system, image); a
# failed run always keeps it.
set -u
export LC_ALL=C
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${E2E_CACHE:-/var/cache/fuse2fs-ng-e2e}
SUITE=bookworm
# Packages the container needs besides minbase.  Changing the list makes a
# new tarball (its name carries a hash of the list).
INCLUDE=systemd,systemd-sysv,dbus,fuse3,libfuse3-3,e2fsprogs,libext2fs2,libcap-ng0,util-linux,mount
BOOT_TIMEOUT=${E2E_BOOT_TIMEOUT:-600}
T0=$(date +%s)

log() { echo "[e2e $(( $(date +%s) - T0 ))s] $*"; }
fail() { echo "E2E FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root"
BOOT_ONLY=0 DEB=""
case ${1:-} in
--boot-only) BOOT_ONLY=1 ;;
-h|--help) sed -n '2,30p' "$0"; exit 0 ;;
"") ;;
*) DEB=$(realpath "$1") && [ -f "$DEB" ] || fail "no such package: $1" ;;
esac

W=$(mktemp -d /tmp/fuse2fs-e2e.XXXXXX) || fail "mktemp"
LOOP=""
cleanup() {
    local rc=$? c
    # The container is gone by now (timeout killed it at worst).  A fuseblk
    # server killed along with its mount namespace can be left waiting for
    # itself (the kernel sends it DESTROY as the namespace goes); aborting
    # its connection, which is named after the device number, frees it.
    if [ -n "$LOOP" ]; then
        c=/sys/fs/fuse/connections/$(( $(stat -c '0x%t' "$LOOP") << 20 | $(stat -c '0x%T' "$LOOP") ))
        [ -e "$c/abort" ] && echo 1 > "$c/abort"
        losetup -d "$LOOP" 2>/dev/null
    fi
    # A failed run keeps its logs.
    if [ "${E2E_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
        echo "e2e: kept $W"
    else
        rm -rf --one-file-system "$W"
    fi
}
trap cleanup EXIT
log "work directory $W"

# ---------------------------------------------------------------- 1. tools
need=""
command -v debootstrap >/dev/null || need="$need debootstrap"
command -v systemd-nspawn >/dev/null || need="$need systemd-container"
if [ -n "$need" ]; then
    log "installing$need"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends $need; } \
        > "$W/apt.log" 2>&1 || { tail -20 "$W/apt.log"; fail "apt-get install$need"; }
fi

# ---------------------------------------------------------------- 2. rootfs
# The mirror apt uses here (deb822 first, then the one-line format).
mirror() {
    local m=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        m=$(awk '/^URIs:/ {u = $2} /^Suites:/ && / '"$SUITE"'( |$)/ {print u; exit}' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $3 == "'"$SUITE"'" {print $2; exit}' \
        /etc/apt/sources.list 2>/dev/null)
    echo "${m:-http://deb.debian.org/debian}"
}
TAR=$CACHE/rootfs-$SUITE-$(echo "$INCLUDE" | md5sum | cut -c1-8).tar
if [ ! -s "$TAR" ]; then
    MIRROR=$(mirror)
    log "debootstrap $SUITE from $MIRROR (once; cached as $TAR)"
    mkdir -p "$CACHE" "$W/bootstrap"
    timeout 1200 debootstrap --variant=minbase --include="$INCLUDE" \
        "$SUITE" "$W/bootstrap" "$MIRROR" > "$W/debootstrap.log" 2>&1 ||
        { tail -20 "$W/debootstrap.log"; fail "debootstrap (log above)"; }
    # No getty on the passive console, and nothing that waits for a network.
    ln -sf /dev/null "$W/bootstrap/etc/systemd/system/console-getty.service"
    ln -sf /dev/null "$W/bootstrap/etc/systemd/system/systemd-networkd-wait-online.service"
    echo e2e > "$W/bootstrap/etc/hostname"
    tar -C "$W/bootstrap" -cf "$TAR.tmp" . && mv "$TAR.tmp" "$TAR" || fail "writing $TAR"
    rm -rf --one-file-system "$W/bootstrap"
    log "root file system cached ($(du -sh "$TAR" | cut -f1))"
fi
ROOT=$W/root
mkdir -p "$ROOT" && tar -C "$ROOT" -xf "$TAR" || fail "unpacking $TAR"

# ---------------------------------------------------------------- 3. package
if [ $BOOT_ONLY = 0 ] && [ -z "$DEB" ]; then
    mkdir -p "$W/build"
    if [ "${E2E_WORKTREE:-0}" = 1 ]; then
        log "building the package from the work tree $SRC"
        mkdir -p "$W/build/src"
        # Tracked and untracked files that exist, but no compiled output
        # (ELF files) that .gitignore misses: make would take it as built.
        (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
            xargs -0 -r sh -c 'for f; do [ -f "$f" ] && [ "$(head -c4 "$f")" != "$(printf "\177ELF")" ] &&
                printf "%s\0" "$f"; done' sh |
            tar --null -T - -cf -) | tar -C "$W/build/src" -xf - || fail "copying the work tree"
    else
        log "building the package from HEAD of $SRC"
        timeout 120 git clone -q "$SRC" "$W/build/src" || fail "git clone $SRC"
    fi
    # Build dependencies from debian/control, only when some are missing.
    if ! (cd "$W/build/src" && dpkg-checkbuilddeps) > /dev/null 2>&1; then
        log "installing build dependencies"
        export DEBIAN_FRONTEND=noninteractive
        { timeout 300 apt-get update -qq &&
          timeout 900 apt-get build-dep -y -qq "$W/build/src"; } > "$W/build-dep.log" 2>&1 ||
            { tail -20 "$W/build-dep.log"; fail "apt-get build-dep"; }
    fi
    (cd "$W/build/src" && timeout 1800 dpkg-buildpackage -us -uc -b) > "$W/build.log" 2>&1 ||
        { tail -40 "$W/build.log"; fail "dpkg-buildpackage (log: $W/build.log)"; }
    DEB=$(ls "$W"/build/fuse2fs-ng_*.deb 2>/dev/null | head -1)
    [ -n "$DEB" ] || fail "dpkg-buildpackage made no fuse2fs-ng_*.deb"
    log "built $(basename "$DEB")"
fi
if [ -n "$DEB" ]; then
    log "installing $(basename "$DEB") into the root file system"
    cp "$DEB" "$ROOT/tmp/pkg.deb"
    # No service start from maintainer scripts in a chroot.
    printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"
    if ! timeout 300 chroot "$ROOT" dpkg -i /tmp/pkg.deb > "$W/dpkg.log" 2>&1; then
        # Missing dependencies: let apt fetch them from the chroot's mirror.
        timeout 600 chroot "$ROOT" apt-get install -y -f -qq >> "$W/dpkg.log" 2>&1 ||
            { tail -20 "$W/dpkg.log"; fail "dpkg -i $(basename "$DEB") in the root file system"; }
    fi
    rm -f "$ROOT/usr/sbin/policy-rc.d" "$ROOT/tmp/pkg.deb"
    for f in /usr/sbin/fuse2fs /usr/sbin/mount.safe /lib/systemd/system/fuse2fs.socket \
             /lib/systemd/system/fuse2fs@.service; do
        [ -e "$ROOT$f" ] || fail "the package did not install $f"
    done
    # The package enables the socket; the template itself must not be.
    # (-L: the link is absolute, so it only resolves inside the root.)
    [ -L "$ROOT/etc/systemd/system/sockets.target.wants/fuse2fs.socket" ] ||
        fail "fuse2fs.socket is not enabled after install"
    ls "$ROOT"/etc/systemd/system/*/fuse2fs@* > /dev/null 2>&1 &&
        fail "fuse2fs@.service got enabled by the package"
fi

# ---------------------------------------------------------------- 4. image
RES=$W/results
mkdir -p "$RES"
if [ $BOOT_ONLY = 0 ]; then
    IMG=$W/ext4.img
    truncate -s 64M "$IMG" && mke2fs -q -F -t ext4 -E root_owner=0:0 "$IMG" || fail "mke2fs"
    LOOP=$(losetup --show -f "$IMG") || fail "losetup"
    log "image on $LOOP"
fi

# ---------------------------------------------------------------- 5. inside
# The test script runs as a oneshot unit once the container is up.  Each
# step has its own time limit; whatever happens, it writes its verdict and
# powers off.
cat > "$ROOT/usr/local/bin/e2e-test" <<'EOS'
#!/bin/bash
R=/results
exec > "$R/inside.log" 2>&1
set -u
verdict() { echo "$*" > "$R/verdict"; echo "$*"; journalctl -b --no-pager > "$R/journal.txt" 2>&1;
            systemctl --no-block poweroff; exit 0; }
bad() { verdict "FAIL: $*"; }
t() { timeout "$@"; }
echo "PID 1 is $(cat /proc/1/comm)"
[ "$(cat /proc/1/comm)" = systemd ] || bad "PID 1 is not systemd"
# (No is-system-running --wait: this unit is itself part of the boot.)
if [ "${1:-}" = boot-only ]; then
    verdict PASS
fi

# The package enabled the socket, so it is listening already; start it
# anyway, as an admin would.
echo "fuse2fs.socket: $(systemctl is-enabled fuse2fs.socket), $(systemctl is-active fuse2fs.socket)"
[ "$(systemctl is-enabled fuse2fs.socket)" = enabled ] || bad "fuse2fs.socket is not enabled"
t 30 systemctl start fuse2fs.socket || bad "systemctl start fuse2fs.socket"
[ -S /run/fuse2fs/safe.sock ] || bad "no socket /run/fuse2fs/safe.sock"
stat -c 'socket %n mode %a owner %U:%G' /run/fuse2fs/safe.sock

mkdir -p /mnt
t 60 mount -t safe.ext4 /dev/loop7 /mnt || bad "mount -t safe.ext4 /dev/loop7 /mnt"
line=$(awk '$2 == "/mnt"' /proc/mounts); echo "mounted: $line"
case $(echo "$line" | awk '{print $3}') in fuse*) ;; *) bad "/mnt is not a FUSE mount: $line" ;; esac
case ",$(echo "$line" | awk '{print $4}')," in *,nosuid,*nodev,*|*,nodev,*nosuid,*) ;;
    *) bad "/mnt lacks nosuid,nodev: $line" ;; esac

echo "hello from the sandbox" > /mnt/hello.txt || bad "write /mnt/hello.txt"
mkdir /mnt/dir || bad "mkdir /mnt/dir"
head -c 3000000 /dev/urandom > /tmp/rand && cp /tmp/rand /mnt/dir/rand || bad "write /mnt/dir/rand"
md5sum < /tmp/rand | cut -d' ' -f1 > "$R/rand.md5"
t 60 sync -f /mnt/hello.txt
[ "$(cat /mnt/hello.txt)" = "hello from the sandbox" ] || bad "read back /mnt/hello.txt"
cmp /tmp/rand /mnt/dir/rand || bad "read back /mnt/dir/rand"

# The instance: exactly one, running, sandboxed.
mapfile -t units < <(systemctl list-units --plain --no-legend --state=running 'fuse2fs@*.service' | awk '{print $1}')
echo "instances: ${units[*]:-none}"
[ ${#units[@]} = 1 ] || bad "expected one running fuse2fs@*.service, found ${#units[@]}"
u=${units[0]}
systemctl show -p DynamicUser -p User -p MainPID -p NRestarts "$u"
[ "$(systemctl show -P DynamicUser "$u")" = yes ] || bad "$u: DynamicUser is not yes"
pid=$(systemctl show -P MainPID "$u")
[ "${pid:-0}" -gt 0 ] || bad "$u has no main pid"
grep -E '^(Name|Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Threads):' "/proc/$pid/status" |
    tee "$R/status.txt"
uid=$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")
[ "${uid:-0}" != 0 ] || bad "the server runs as uid 0"
[ "$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")" = 0000000000000000 ] || bad "the server has capabilities"
[ "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$pid/status")" = 1 ] || bad "NoNewPrivs is not set"
[ "$(awk '/^Seccomp:/ {print $2}' "/proc/$pid/status")" = 2 ] || bad "no seccomp filter"
# No network: its namespace has nothing but lo.  No devices: its /dev has
# neither the disk it serves nor /dev/fuse (it got both as fds).
nets=$(awk -F: 'NR > 2 {gsub(/ /, "", $1); printf "%s ", $1}' "/proc/$pid/net/dev")
echo "server network interfaces: $nets"
[ "$nets" = "lo " ] || bad "the server sees network interfaces: $nets"
for d in loop7 fuse loop-control; do
    [ -e "/proc/$pid/root/dev/$d" ] && bad "the server's /dev has $d"
done
echo "server /dev: $(ls "/proc/$pid/root/dev" | tr '\n' ' ')"
[ "$(systemctl show -P NConnections fuse2fs.socket)" = 1 ] || bad "NConnections is not 1 while mounted"
t 60 systemd-analyze security --no-pager "$u" > "$R/security.txt" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$R/security.txt")
echo "exposure of $u: ${exposure:-unknown}"
awk -v e="${exposure:-99}" 'BEGIN {exit !(e <= 1.0)}' || bad "exposure ${exposure:-unknown} > 1.0"

t 120 umount /mnt || bad "umount /mnt"
# The instance ends by itself once the filesystem is unmounted.
for i in $(seq 40); do
    [ -z "$(systemctl list-units --plain --no-legend 'fuse2fs@*.service' | awk '$3 == "active"')" ] && break
    sleep 0.5
done
systemctl list-units --plain --no-legend 'fuse2fs@*.service'
[ -z "$(systemctl list-units --plain --no-legend 'fuse2fs@*.service' | awk '$3 == "active"')" ] ||
    bad "an instance is still active 20 s after umount"
[ "$(systemctl show -P NConnections fuse2fs.socket)" = 0 ] || bad "NConnections is not 0 after umount"
journalctl --no-pager -u 'fuse2fs@*' > "$R/instance-journal.txt" 2>&1

# Mount again and leave it mounted: the poweroff must unmount it, and the
# server must still be there to finish the unmount (the host checks the
# order in the console log).  systemd has to know the mount first.
t 60 mount -t safe.ext4 /dev/loop7 /mnt || bad "second mount"
echo "written before poweroff" > /mnt/shutdown.txt || bad "write /mnt/shutdown.txt"
for i in $(seq 40); do
    [ "$(systemctl show -P ActiveState mnt.mount)" = active ] && break
    sleep 0.25
done
[ "$(systemctl show -P ActiveState mnt.mount)" = active ] || bad "systemd does not see /mnt as mounted"
verdict PASS
EOS
chmod 755 "$ROOT/usr/local/bin/e2e-test"
arg=""; [ $BOOT_ONLY = 1 ] && arg=boot-only
cat > "$ROOT/etc/systemd/system/e2e-test.service" <<EOF
[Unit]
Description=fuse2fs-ng end-to-end test
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/bin/e2e-test $arg
TimeoutStartSec=400
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/e2e-test.service "$ROOT/etc/systemd/system/multi-user.target.wants/"

# ---------------------------------------------------------------- boot
# --keep-unit and --register=no: there is no systemd or machined on the
# host to register with.  /dev in the container is a private tmpfs, so the
# loop device and /dev/fuse are bound in from the host.  The console goes
# to the log (read-only): with --console=passive nobody reads it, and once
# its buffer is full PID 1 blocks writing to it.
binds=(--bind=/dev/fuse "--bind=$RES:/results")
[ -n "$LOOP" ] && binds+=("--bind=$LOOP:/dev/loop7")
log "booting the container (at most ${BOOT_TIMEOUT}s)"
b0=$(date +%s)
timeout -k 10 "$BOOT_TIMEOUT" systemd-nspawn -q -D "$ROOT" --boot --register=no --keep-unit \
    --console=read-only --private-network "${binds[@]}" > "$W/nspawn.log" 2>&1
rc=$?
log "container exited with $rc after $(( $(date +%s) - b0 ))s"
[ $rc = 124 ] || [ $rc = 137 ] && { tail -30 "$W/nspawn.log"; fail "the container did not power off in ${BOOT_TIMEOUT}s"; }
[ -f "$RES/inside.log" ] && sed 's/^/  inside: /' "$RES/inside.log"
verdict=$(cat "$RES/verdict" 2>/dev/null)
if [ "$verdict" != PASS ]; then
    tail -30 "$W/nspawn.log"
    [ -f "$RES/journal.txt" ] && grep -E 'fuse2fs|safe' "$RES/journal.txt" | tail -30
    fail "inside the container: ${verdict:-no verdict (the test unit did not run)}"
fi
if [ $BOOT_ONLY = 1 ]; then
    echo "E2E PASS"
    exit 0
fi

# ---------------------------------------------------------------- 6. host
losetup -d "$LOOP" && LOOP=""
out=$(timeout 120 e2fsck -fn "$IMG" 2>&1) || { echo "$out"; fail "e2fsck -fn not clean after the run"; }
[ "$(timeout 60 debugfs -R 'cat /hello.txt' "$IMG" 2>/dev/null)" = "hello from the sandbox" ] ||
    fail "/hello.txt on the image"
[ "$(timeout 60 debugfs -R 'cat /dir/rand' "$IMG" 2>/dev/null | md5sum | cut -d' ' -f1)" = "$(cat "$RES/rand.md5")" ] ||
    fail "/dir/rand on the image differs from what was written"
[ "$(timeout 60 debugfs -R 'cat /shutdown.txt' "$IMG" 2>/dev/null)" = "written before poweroff" ] ||
    fail "/shutdown.txt, written to a mount left up at poweroff, is not on the image"
log "e2fsck clean; /hello.txt, /dir/rand and /shutdown.txt are on the image"
# At poweroff the mount goes first and the server ends by itself; it is
# never stopped (that would leave a dead mount for the rest of shutdown).
grep -q 'Unmounted.*mnt\.mount' "$W/nspawn.log" || fail "shutdown did not unmount /mnt (console log: $W/nspawn.log)"
grep -q 'Stopping.*fuse2fs@' "$W/nspawn.log" && fail "shutdown stopped a fuse2fs@ instance instead of unmounting first"
log "shutdown unmounted /mnt and left the server to finish"
echo "E2E PASS"
