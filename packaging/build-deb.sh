#!/usr/bin/env bash
# Builds artifacts/workspaces_VERSION_amd64.deb with dpkg-deb: the Native AOT daemon and ws,
# the systemd unit, sysusers.d and tmpfiles.d entries, the default config and ws's bash completion.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x artifacts/workspacesd/workspacesd && -x artifacts/bin/ws ]] || packaging/build.sh
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

install -D -m 755 artifacts/workspacesd/workspacesd "$root/usr/lib/workspaces/workspacesd"
install -D -m 644 artifacts/workspacesd/libe_sqlite3.so "$root/usr/lib/workspaces/libe_sqlite3.so"
install -D -m 644 artifacts/workspacesd/libsodium.so "$root/usr/lib/workspaces/libsodium.so"
install -D -m 755 artifacts/bin/ws "$root/usr/bin/ws"
install -D -m 644 packaging/completion/ws.bash "$root/usr/share/bash-completion/completions/ws"
install -D -m 644 packaging/systemd/workspaces.service "$root/lib/systemd/system/workspaces.service"
install -D -m 644 packaging/sysusers.d/workspaces.conf "$root/usr/lib/sysusers.d/workspaces.conf"
install -D -m 644 packaging/tmpfiles.d/workspaces.conf "$root/usr/lib/tmpfiles.d/workspaces.conf"
install -D -m 644 packaging/workspacesd.json "$root/etc/workspaces/workspacesd.json"
install -D -m 644 README.md "$root/usr/share/doc/workspaces/README.md"

mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: workspaces
Version: $version
Architecture: amd64
Maintainer: Workspaces developers <workspaces@localhost>
Depends: qemu-system-x86, qemu-utils, systemd, iproute2, libnftables1, dnsmasq-base, zstd
Recommends: systemd-container, wireguard-go, wireguard-tools
Section: admin
Priority: optional
Description: virtual workspaces: QEMU guests managed by a resident daemon
 workspacesd turns images into QEMU guests with negotiated, enforced resource
 limits, behind a local REST API; ws is its command-line client.
CONTROL
echo /etc/workspaces/workspacesd.json > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    systemd-sysusers workspaces.conf
    systemd-tmpfiles --create workspaces.conf
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable workspaces.service >/dev/null
    fi
fi
SCRIPT
cat > "$root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
# Stops the daemon only: guests keep running in their scopes (KillMode=process).
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl disable --now workspaces.service >/dev/null || true
fi
SCRIPT
cat > "$root/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
SCRIPT
chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

out=artifacts/workspaces_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
