#!/usr/bin/env bash
# Build the Debian test guest: bookworm minbase with systemd, cloud-init and qemu-guest-agent,
# booted with its own kernel and initrd like the busybox guest (tests/guest/build.sh).
#
# Usage: tests/guest/build-debian.sh [OUTDIR]
#   OUTDIR defaults to ${WORKSPACES_DEBIAN_GUEST_DIR:-$HOME/.cache/workspaces/debian-guest}
#
# Produces OUTDIR/{vmlinuz,initrd.img,disk.qcow2,cmdline,stamp}. Cached like build.sh: when
# OUTDIR/stamp equals the sha256 of this script nothing is rebuilt; a build happens in a temp dir
# next to OUTDIR and is renamed into place; concurrent builds serialise on OUTDIR.lock. Progress
# goes to stderr, stdout is only the OUTDIR path. Needs root (debootstrap, chroot).
# See README.md next to this file for the guest's contract.
set -euo pipefail

OUTDIR=${1:-${WORKSPACES_DEBIAN_GUEST_DIR:-$HOME/.cache/workspaces/debian-guest}}
OUTDIR=${OUTDIR%/}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
HASH=$(sha256sum "$SELF" | cut -d' ' -f1)
OUTPUTS=(vmlinuz initrd.img disk.qcow2 cmdline stamp)

# quiet keeps the serial console readable; the root file system is the first virtio disk.
CMDLINE="root=/dev/vda rw console=ttyS0 quiet loglevel=3 panic=-1 net.ifnames=0"
DISK_SIZE_MB=1536
# debootstrap lays down the base (it does not resolve virtual packages, which cloud-init's python
# dependencies need); apt-get inside the chroot installs the rest.
BASE=systemd,systemd-sysv,udev,kmod,iproute2,util-linux,zstd,initramfs-tools
PACKAGES=(cloud-init qemu-guest-agent openssh-server linux-image-cloud-amd64)

log() { echo "debian-guest-build: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_complete() {
    local f
    for f in "${OUTPUTS[@]}"; do [[ -s "$1/$f" ]] || return 1; done
    [[ "$(cat "$1/stamp")" == "$HASH" ]]
}

if is_complete "$OUTDIR"; then echo "$OUTDIR"; exit 0; fi
[[ $(id -u) -eq 0 ]] || die "building the Debian guest needs root (debootstrap)"

mkdir -p "$(dirname "$OUTDIR")"
exec 9>"$OUTDIR.lock"
flock 9
if is_complete "$OUTDIR"; then echo "$OUTDIR"; exit 0; fi
rm -rf "$OUTDIR".tmp.* "$OUTDIR".old.*

export PATH=$PATH:/usr/sbin:/sbin
for tool in debootstrap qemu-img mkfs.ext4; do
    command -v "$tool" >/dev/null || die "'$tool' missing: run packaging/install-deps.sh"
done

WORK=$(mktemp -d "$OUTDIR.tmp.XXXXXX")
ROOT=$WORK/root
BUILD=$WORK/out
cleanup() {
    # A failed build may leave the chroot's virtual file systems mounted.
    for m in proc sys dev; do umount -l "$ROOT/$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
mkdir -p "$BUILD"

# The mirror the host itself uses (deb822 sources), so the guest builds where the host installs.
MIRROR=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -n1)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

# Never install documentation, man pages or translations: the guest is smaller and faster to build.
mkdir -p "$ROOT/etc/dpkg/dpkg.cfg.d"
cat > "$ROOT/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
# The initrd carries only what finds the root disk (virtio) and the seed (virtio-scsi cdrom).
mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
echo "MODULES=list" > "$ROOT/etc/initramfs-tools/conf.d/workspaces.conf"
echo "COMPRESS=zstd" >> "$ROOT/etc/initramfs-tools/conf.d/workspaces.conf"
printf '%s\n' virtio_pci virtio_blk virtio_scsi virtio_net virtio_console sr_mod isofs > "$ROOT/etc/initramfs-tools/modules"

log "debootstrap bookworm minbase from $MIRROR"
START=$(date +%s)
debootstrap --variant=minbase --include="$BASE" bookworm "$ROOT" "$MIRROR" >&2
log "debootstrap took $(( $(date +%s) - START )) s"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
# No daemon may start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >&2
rm -f "$ROOT/usr/sbin/policy-rc.d"
for m in proc sys dev; do umount "$ROOT/$m"; done
log "packages installed after $(( $(date +%s) - START )) s"

# ---------------------------------------------------------------- configuration
echo "/dev/vda / ext4 rw,noatime 0 1" > "$ROOT/etc/fstab"
echo "debian" > "$ROOT/etc/hostname"
# The root account stays locked: access is by the ssh keys cloud-init installs, or the guest agent.

# cloud-init: only NoCloud (the workspace's seed) or nothing; network through systemd-networkd.
cat > "$ROOT/etc/cloud/cloud.cfg.d/90-workspaces.cfg" <<'EOF'
datasource_list: [NoCloud, None]
system_info:
  network:
    renderers: [networkd]
# The root account is the one the workspace's ssh keys are for (cloud-init's default user is absent).
disable_root: false
users: []
# Only the modules a workspace uses: every module costs time under TCG (locale generation alone ~30 s),
# and RSA/DSA host keys are slow to make there.
ssh_genkeytypes: [ed25519]
ssh_quiet_keygen: true
cloud_init_modules: [migrator, seed_random, bootcmd, write_files, resizefs, set_hostname, update_hostname,
                     update_etc_hosts, users_groups, ssh]
cloud_config_modules: [runcmd]
cloud_final_modules: [package_update_upgrade_install, scripts_per_once, scripts_per_boot, scripts_per_instance,
                      scripts_user, final_message, power_state_change]
EOF
# /etc/machine-id empty: systemd makes one at first boot (each workspace its own).
: > "$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
# ssh host keys are made per workspace at first boot (cloud-init's ssh module), never shipped.
rm -f "$ROOT"/etc/ssh/ssh_host_*

# Units that only cost boot time under TCG in a test guest.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
            getty@tty1.service systemd-networkd-wait-online.service systemd-timesyncd.service \
            man-db.timer logrotate.timer dpkg-db-backup.timer; do
    ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done
chroot "$ROOT" systemctl enable systemd-networkd.service >&2 2>/dev/null || true
# The agent starts when its virtio port appears (Debian's udev rule wants the service); this makes
# sure it is wanted at boot even if the port was there before udev ran.
mkdir -p "$ROOT/etc/systemd/system/dev-virtio\\x2dports-org.qemu.guest_agent.0.device.wants"
ln -sf /lib/systemd/system/qemu-guest-agent.service \
    "$ROOT/etc/systemd/system/dev-virtio\\x2dports-org.qemu.guest_agent.0.device.wants/qemu-guest-agent.service"

# The second serial port runs commands for tests, as in the busybox guest (the host side is a
# root-only socket, shell.sock): one line in, run, its output back; WORKSPACE-COMMANDS says it listens.
cat > "$ROOT/etc/systemd/system/workspaces-test-shell.service" <<'UNIT'
[Unit]
Description=Test command port on ttyS1 (Workspaces test guest only)
DefaultDependencies=no
After=systemd-udevd.service
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/sh -c 'stty -F /dev/ttyS1 raw -echo; echo WORKSPACE-COMMANDS >/dev/console; while read -r line; do eval "$line"; done </dev/ttyS1 >/dev/ttyS1 2>&1'
ConditionPathExists=/dev/ttyS1
Restart=always
RestartSec=1
[Install]
WantedBy=sysinit.target
UNIT
chroot "$ROOT" systemctl enable workspaces-test-shell.service >&2
# Say on the console when cloud-init is done (the boot-time measure).
cat > "$ROOT/etc/cloud/cloud.cfg.d/91-workspaces-final.cfg" <<'CFG'
final_message: "WORKSPACE-CLOUD-INIT-DONE after $UPTIME s"
CFG

# Trim what a test guest never needs once the packages are in.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* \
       "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*

# ---------------------------------------------------------------- kernel and initrd
KERNEL=$(ls "$ROOT"/boot/vmlinuz-* | head -n1)
INITRD=$(ls "$ROOT"/boot/initrd.img-* | head -n1)
[[ -f $KERNEL && -f $INITRD ]] || die "no kernel or initrd in the guest's /boot"
cp "$KERNEL" "$BUILD/vmlinuz"
cp "$INITRD" "$BUILD/initrd.img"

# ---------------------------------------------------------------- disk
truncate -s "${DISK_SIZE_MB}M" "$WORK/disk.raw"
mkfs.ext4 -q -F -L workspace -d "$ROOT" "$WORK/disk.raw"
qemu-img convert -q -f raw -O qcow2 "$WORK/disk.raw" "$BUILD/disk.qcow2"
rm -f "$WORK/disk.raw"

echo "$CMDLINE" > "$BUILD/cmdline"
echo "$HASH" > "$BUILD/stamp"   # written last: marks the build complete

OLD=
if [[ -e $OUTDIR ]]; then
    OLD=$(mktemp -d "$OUTDIR.old.XXXXXX")
    mv -T "$OUTDIR" "$OLD/x"
fi
mv -T "$BUILD" "$OUTDIR"
[[ -n $OLD ]] && rm -rf "$OLD"
log "built $OUTDIR in $(( $(date +%s) - START )) s ($(du -sh "$OUTDIR/disk.qcow2" | cut -f1) disk)"
echo "$OUTDIR"
