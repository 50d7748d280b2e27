#!/usr/bin/env bash
# Build the minimal QEMU test guest used by the workspace daemon's tests.
#
# Usage: tests/guest/build.sh [OUTDIR]
#   OUTDIR defaults to ${WORKSPACES_GUEST_DIR:-$HOME/.cache/workspaces/guest}
#
# Produces OUTDIR/{vmlinuz,initrd.img,disk.qcow2,cmdline,stamp} from Debian
# packages only (cloud kernel + busybox-static + qemu-guest-agent's qemu-ga). The build is cached: when
# OUTDIR/stamp equals the sha256 of this script, nothing is rebuilt.
# All progress goes to stderr; the only stdout line is the OUTDIR path, so
# callers can do: dir=$(tests/guest/build.sh)
# See README.md next to this file for the guest's behaviour contract.
set -euo pipefail

OUTDIR=${1:-${WORKSPACES_GUEST_DIR:-$HOME/.cache/workspaces/guest}}
OUTDIR=${OUTDIR%/}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
HASH=$(sha256sum "$SELF" | cut -d' ' -f1)
OUTPUTS=(vmlinuz initrd.img disk.qcow2 cmdline stamp)

# Kernel command line. quiet+loglevel=3 keeps kernel chatter off the serial
# console so the READY line stays easy to spot; panic=-1 reboots on a panic
# (add -no-reboot to QEMU to turn that into an exit).
CMDLINE="console=ttyS0 quiet loglevel=3 panic=-1"
DISK_SIZE_MB=64

log() { echo "guest-build: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_complete() {
    local f
    for f in "${OUTPUTS[@]}"; do [[ -s "$1/$f" ]] || return 1; done
    [[ "$(cat "$1/stamp")" == "$HASH" ]]
}

# Fast path: cached build matching this exact script.
if is_complete "$OUTDIR"; then
    echo "$OUTDIR"
    exit 0
fi

PARENT=$(dirname "$OUTDIR")
mkdir -p "$PARENT"

# Serialise concurrent builds of the same OUTDIR (e.g. parallel test runs);
# whoever waits re-checks the cache after getting the lock.
if command -v flock >/dev/null; then
    exec 9>"$OUTDIR.lock"
    flock 9
    if is_complete "$OUTDIR"; then echo "$OUTDIR"; exit 0; fi
    # Holding the lock, any leftover temp dirs are from killed builds.
    rm -rf "$OUTDIR".tmp.* "$OUTDIR".old.*
fi

# Build next to OUTDIR (same filesystem) so the final rename is atomic.
WORK=$(mktemp -d "$OUTDIR.tmp.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
BUILD=$WORK/out            # becomes OUTDIR
ROOT=$WORK/initramfs       # initramfs tree
mkdir -p "$BUILD" "$ROOT" "$WORK/deb"

# ---------------------------------------------------------------- prerequisites
APT_UPDATED=
apt_update_once() {
    [[ -n $APT_UPDATED ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "need root to run apt-get update/install"
    log "apt-get update"
    apt-get update -qq >&2
    APT_UPDATED=1
}

# Install a Debian package only if the command it provides is missing.
need() {   # need <command> <package>
    command -v "$1" >/dev/null 2>&1 && return 0
    # /usr/sbin may be off PATH for non-login shells.
    [[ -x /usr/sbin/$1 || -x /sbin/$1 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "'$1' missing; install package '$2' (needs root)"
    log "installing $2 (for $1)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2; then
        apt_update_once
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2
    fi
}
export PATH=$PATH:/usr/sbin:/sbin
need cpio     cpio
need qemu-img qemu-utils
need mke2fs   e2fsprogs
# The guest needs a *static* busybox (the initramfs has no libc); the plain
# "busybox" package is dynamic, so check linkage rather than presence.
static_busybox() {
    local b
    for b in "$(command -v busybox 2>/dev/null)" /bin/busybox /usr/bin/busybox; do
        [[ -x $b ]] && ! ldd "$b" >/dev/null 2>&1 && { echo "$b"; return 0; }
    done
    return 1
}
if ! BUSYBOX=$(static_busybox); then
    [[ $(id -u) -eq 0 ]] || die "static busybox missing; install busybox-static (needs root)"
    log "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >&2 ||
        { apt_update_once; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >&2; }
    BUSYBOX=$(static_busybox) || die "no static busybox after install"
fi

# ---------------------------------------------------------------- kernel
# The cloud kernel is small and has virtio/ACPI support; fetch it as a .deb
# (never installed on the host) via the meta package's versioned dependency.
apt_download() {   # apt_download <pkg>  (into $WORK/deb)
    (cd "$WORK/deb" && apt-get download -qq "$1" >&2 2>/dev/null) && return 0
    apt_update_once
    (cd "$WORK/deb" && apt-get download -qq "$1" >&2)
}
log "downloading linux-image-cloud-amd64"
apt_download linux-image-cloud-amd64
META_DEB=$(ls "$WORK"/deb/linux-image-cloud-amd64_*.deb)
KPKG=$(dpkg-deb -f "$META_DEB" Depends | tr ',' '\n' |
       sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
[[ -n $KPKG ]] || die "cannot resolve kernel package from $META_DEB"
log "downloading $KPKG"
apt_download "$KPKG"
dpkg-deb -x "$(ls "$WORK"/deb/"${KPKG}"_*.deb)" "$WORK/kernel"
KVER=${KPKG#linux-image-}
KDIR=$WORK/kernel/lib/modules/$KVER
KCONFIG=$WORK/kernel/boot/config-$KVER
[[ -f $KCONFIG && -d $KDIR ]] || die "unexpected layout in $KPKG"
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$BUILD/vmlinuz"

# The .deb ships no modules.dep (the postinst runs depmod), so generate one
# with busybox depmod against the extracted tree.
"$BUSYBOX" depmod -b "$WORK/kernel" "$KVER"

# Modules the guest needs, keyed by their Kconfig symbol: only those built as
# modules (=m) are shipped; built-ins (=y) need nothing. ext4 is the disk's
# filesystem; button+evdev turn the ACPI power button into an input event
# that busybox acpid can see.
declare -A WANT=(
    [CONFIG_VIRTIO_PCI]=virtio_pci
    [CONFIG_VIRTIO_BLK]=virtio_blk
    [CONFIG_EXT4_FS]=ext4
    [CONFIG_ACPI_BUTTON]=button
    [CONFIG_INPUT_EVDEV]=evdev
    [CONFIG_VIRTIO_BALLOON]=virtio_balloon   # lets the host take memory back live
    [CONFIG_VIRTIO_NET]=virtio_net           # the workspace's NIC
    [CONFIG_PACKET]=af_packet                # udhcpc's raw socket
    [CONFIG_VIRTIO_CONSOLE]=virtio_console   # the guest agent's virtio-serial port
)
declare -A DEP_OF=()       # module name -> space-separated dependency names
declare -A PATH_OF=()      # module name -> path relative to $KDIR
while IFS= read -r line; do
    mod=${line%%:*}; deps=${line#*:}
    name=$(basename "$mod" .ko); name=${name//-/_}
    PATH_OF[$name]=$mod
    d=""
    for p in $deps; do n=$(basename "$p" .ko); d+=" ${n//-/_}"; done
    DEP_OF[$name]=$d
done < "$KDIR/modules.dep"

# Depth-first walk: dependencies are emitted before their users, which is
# the order insmod needs at boot.
declare -A SEEN=()
ORDER=()
visit() {
    local m=$1 d
    [[ -n ${SEEN[$m]:-} ]] && return 0
    SEEN[$m]=1
    [[ -n ${PATH_OF[$m]:-} ]] || die "module $m not found in $KPKG"
    for d in ${DEP_OF[$m]}; do visit "$d"; done
    ORDER+=("$m")
}
for sym in $(printf '%s\n' "${!WANT[@]}" | sort); do
    val=$(sed -n "s/^$sym=//p" "$KCONFIG")
    case $val in
        y) log "${WANT[$sym]}: built in" ;;
        m) visit "${WANT[$sym]}" ;;
        *) die "$sym is not enabled in $KVER" ;;
    esac
done

# ---------------------------------------------------------------- guest agent
# qemu-ga from Debian's qemu-guest-agent (extracted, never installed). It is dynamic: its shared
# libraries and the loader are copied from the host at the paths ldd names, which are the paths the
# loader searches. A library ldd cannot find is installed from the package's Depends first.
log "downloading qemu-guest-agent"
apt_download qemu-guest-agent
QGA_DEB=$(ls "$WORK"/deb/qemu-guest-agent_*.deb)
dpkg-deb -x "$QGA_DEB" "$WORK/qga"
QGA=$WORK/qga/usr/sbin/qemu-ga
[[ -x $QGA ]] || die "no qemu-ga in $QGA_DEB"
if ldd "$QGA" | grep -q 'not found'; then
    deps=$(dpkg-deb -f "$QGA_DEB" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/^ *//; s/ *$//' | grep -v '^$')
    log "installing qemu-ga's libraries: $(echo $deps)"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $deps >&2 ||
        { apt_update_once; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $deps >&2; }
    ! ldd "$QGA" | grep 'not found' || die "qemu-ga still misses libraries"
fi

# ---------------------------------------------------------------- initramfs
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,mnt,run,tmp,etc/acpi,lib/modules}
install -m 755 "$QGA" "$ROOT/sbin/qemu-ga"
for lib in $(ldd "$QGA" | grep -o '/[^ ]*'); do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
done
# qemu-ga answers guest-get-osinfo from os-release.
cat > "$ROOT/etc/os-release" <<'EOF'
NAME="Workspaces test guest"
ID=workspaces-test
PRETTY_NAME="Workspaces test guest (busybox)"
VERSION_ID=1
EOF
cp "$BUSYBOX" "$ROOT/bin/busybox"
# Applet symlinks at build time: no runtime --install step, PATH just works.
for a in $("$ROOT/bin/busybox" --list); do
    [[ $a == busybox ]] || ln -sf busybox "$ROOT/bin/$a"
done
: > "$ROOT/lib/modules/load-order"
for m in "${ORDER[@]}"; do
    cp "$KDIR/${PATH_OF[$m]}" "$ROOT/lib/modules/$m.ko"
    echo "$m" >> "$ROOT/lib/modules/load-order"
done
log "modules: ${ORDER[*]:-(none)}"

# busybox acpid maps KEY_POWER to the event name PWRF; run our handler.
echo "PWRF powerdown" > "$ROOT/etc/acpid.conf"

cat > "$ROOT/etc/acpi/halt" <<'EOF'
#!/bin/sh
# The one clean shutdown: print the marker given ($1, says who asked), flush and detach the disk,
# then power off so QEMU exits. mkdir is an atomic guard against repeated requests.
mkdir /run/powerdown 2>/dev/null || exit 0
echo "$1" > /dev/console
sync
umount /mnt 2>/dev/null || mount -o remount,ro /mnt 2>/dev/null
sync
busybox poweroff -f
EOF

# Power-button handler (run by acpid).
cat > "$ROOT/etc/acpi/powerdown" <<'EOF'
#!/bin/sh
exec /etc/acpi/halt WORKSPACE-POWERDOWN
EOF

# qemu-ga's guest-shutdown runs "/sbin/shutdown -P|-H|-r +0 MESSAGE" and waits for it: do the
# clean shutdown in the background and answer at once (a reboot request is a power-off too).
cat > "$ROOT/sbin/shutdown" <<'EOF'
#!/bin/sh
/etc/acpi/halt WORKSPACE-AGENT-SHUTDOWN </dev/null >/dev/null 2>&1 &
exit 0
EOF

# poweroff (as a person or a guest-exec would type it) shuts down cleanly too; -f stays immediate.
rm -f "$ROOT/bin/poweroff"
cat > "$ROOT/bin/poweroff" <<'EOF'
#!/bin/sh
[ "$1" = -f ] && exec busybox poweroff -f
exec /etc/acpi/halt WORKSPACE-POWEROFF
EOF

# udhcpc calls this with the lease in its environment ($ip, $mask as a prefix length, $router).
cat > "$ROOT/etc/udhcpc.script" <<'EOF'
#!/bin/sh
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/$mask" dev "$interface"
        [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
        echo "WORKSPACE-NET $interface $ip/$mask" > /dev/console ;;
esac
EOF

cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# PID 1 of the test guest. Must never exit (the kernel would panic).
export PATH=/bin:/sbin
mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console node, so the kernel could not give us
# stdio; attach it now that devtmpfs is mounted.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run

fail() { echo "WORKSPACE-ERROR $*"; }
ip link set lo up   # 127.0.0.1, with or without a NIC (the guest agent reports it)

# workspaces.noacpi on the kernel command line: a guest that ignores the power button (no acpid,
# ever), so a stop must force it off after its timeout (the lifecycle tests tell the two apart).
NOACPI=
case " $(cat /proc/cmdline) " in *" workspaces.noacpi "*) NOACPI=1 ;; esac
# workspaces.noagent: no guest agent runs (tests of a guest that never answers one).
NOAGENT=
case " $(cat /proc/cmdline) " in *" workspaces.noagent "*) NOAGENT=1 ;; esac

# acpid writes its pidfile only after it has opened /dev/input/event*, so
# waiting for the file guarantees a power-button press after READY is seen.
start_acpid() {
    [ -n "$NOACPI" ] && return
    rm -f /run/acpid.pid
    acpid -c /etc/acpi -l /dev/null -p /run/acpid.pid || { fail "acpid"; return; }
    i=0
    while [ ! -s /run/acpid.pid ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
}

# qemu-ga on the virtio-serial port named org.qemu.guest_agent.0 (no udev here, so no
# /dev/virtio-ports/ link: the name is in sysfs). The port is probed asynchronously after the
# module loads; wait up to ~2 s for it, and none at all when QEMU has no such port.
start_agent() {
    [ -n "$NOAGENT" ] && { echo "WORKSPACE-NOAGENT no guest agent runs"; return; }
    grep -qx 0x0003 /sys/bus/virtio/devices/*/device 2>/dev/null || return   # no virtio-serial device
    i=0
    while [ $i -lt 40 ]; do
        for p in /sys/class/virtio-ports/*/name; do
            [ "$(cat "$p" 2>/dev/null)" = org.qemu.guest_agent.0 ] || continue
            port=/dev/$(basename "$(dirname "$p")")
            [ -c "$port" ] || continue
            mkdir -p /dev/virtio-ports /run/qemu-ga
            ln -sf "$port" /dev/virtio-ports/org.qemu.guest_agent.0
            qemu-ga -d -m virtio-serial -p "$port" -f /run/qemu-ga.pid -t /run/qemu-ga -l /run/qemu-ga.log ||
                { fail "qemu-ga"; return; }
            echo "WORKSPACE-AGENT $port"
            return
        done
        sleep 0.05; i=$((i + 1))
    done
}

# Modules are listed in dependency order by build.sh.
while read -r m; do
    insmod "/lib/modules/$m.ko" || fail "insmod $m"
done < /lib/modules/load-order

# virtio-blk probing is asynchronous: wait up to ~10 s for the disk.
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done

if mount -t ext4 -o rw,noatime /dev/vda /mnt; then
    n=$(cat /mnt/boot-count 2>/dev/null)
    case $n in ''|*[!0-9]*) n=0 ;; esac
    n=$((n + 1))
    # write-then-rename so a crash never leaves a truncated counter
    echo "$n" > /mnt/boot-count.new && mv /mnt/boot-count.new /mnt/boot-count
    # workspaces.mark=WORD: append WORD to /mnt/markers; every boot lists the markers it finds,
    # so a test can see a file written in one workspace inside an image derived from it.
    for arg in $(cat /proc/cmdline); do
        case "$arg" in workspaces.mark=*) echo "${arg#workspaces.mark=}" >> /mnt/markers ;; esac
    done
    sync
    [ -s /mnt/markers ] && echo "WORKSPACE-MARKERS $(tr '\n' ' ' < /mnt/markers)"
    # Power-button handling must be live before we announce readiness.
    start_acpid
    [ -n "$NOACPI" ] && echo "WORKSPACE-NOACPI the power button is ignored"
    start_agent
    echo "WORKSPACE-READY boot=$n"
else
    fail "cannot mount /dev/vda"
    start_acpid
    start_agent
fi

# The NIC: a static address from ip=CLIENT::GATEWAY:NETMASK:... (the kernel's ip= syntax, as the
# daemon writes it for boot-set images), else DHCP. WORKSPACE-NET reports the address either way.
if [ -d /sys/class/net/eth0 ]; then
    ip link set eth0 up
    static=""
    for arg in $(cat /proc/cmdline); do
        case "$arg" in ip=*) static="${arg#ip=}" ;; esac
    done
    if [ -n "$static" ] && [ "$static" != dhcp ]; then
        client=$(echo "$static" | cut -d: -f1); gw=$(echo "$static" | cut -d: -f3)
        prefix=$(ipcalc -p "$client" "$(echo "$static" | cut -d: -f4)" | cut -d= -f2)
        ip addr add "$client/$prefix" dev eth0
        [ -n "$gw" ] && ip route add default via "$gw" dev eth0
        echo "WORKSPACE-NET eth0 $client/$prefix"
    else
        udhcpc -i eth0 -s /etc/udhcpc.script -t 20 -T 1 >/dev/null 2>&1 &   # stays to renew the lease
    fi
fi

# The second serial port runs commands for tests (the host side is a root-only socket): one line
# in, run, its output back; no prompt, no echo, no login. WORKSPACE-COMMANDS says it listens (what
# is sent before that is lost: a serial port nobody has open drops what arrives).
if [ -c /dev/ttyS1 ]; then
    (stty raw -echo; echo "WORKSPACE-COMMANDS" >/dev/console; while read -r line; do eval "$line"; done) </dev/ttyS1 >/dev/ttyS1 2>&1 &
fi

# workspaces.burn on the kernel command line: keep one CPU busy (resource-limit tests).
case " $(cat /proc/cmdline) " in
    *" workspaces.burn "*) sh -c 'while :; do :; done' & echo "WORKSPACE-BURNING" ;;
esac

# Stay alive forever; restart acpid if it ever dies so the power button
# keeps working (start_acpid does nothing under workspaces.noacpi).
while :; do
    sleep 5
    pidof acpid >/dev/null || start_acpid
done
EOF
chmod 755 "$ROOT/init" "$ROOT/etc/acpi/halt" "$ROOT/etc/acpi/powerdown" "$ROOT/etc/udhcpc.script" \
    "$ROOT/sbin/shutdown" "$ROOT/bin/poweroff"

# newc cpio, root-owned, sorted for a stable archive.
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0) | gzip -9n > "$BUILD/initrd.img"

# ---------------------------------------------------------------- disk
# ext4 made without root or loop mounts; lost+found only, no boot-count yet.
mkdir -p "$WORK/diskroot"
truncate -s "${DISK_SIZE_MB}M" "$WORK/disk.raw"
mke2fs -q -F -t ext4 -L workspace -E root_owner=0:0 -d "$WORK/diskroot" "$WORK/disk.raw"
qemu-img convert -q -f raw -O qcow2 "$WORK/disk.raw" "$BUILD/disk.qcow2"

echo "$CMDLINE" > "$BUILD/cmdline"
echo "$HASH" > "$BUILD/stamp"   # written last: marks the build complete

# ---------------------------------------------------------------- publish
OLD=
if [[ -e $OUTDIR ]]; then
    OLD=$(mktemp -d "$OUTDIR.old.XXXXXX")
    mv -T "$OUTDIR" "$OLD/x"
fi
mv -T "$BUILD" "$OUTDIR"
[[ -n $OLD ]] && rm -rf "$OLD"
log "built $OUTDIR ($(du -sh "$OUTDIR/initrd.img" | cut -f1) initrd, kernel $KVER)"
echo "$OUTDIR"
