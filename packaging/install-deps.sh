#!/usr/bin/env bash
# Installs, from Debian, what Workspaces needs to build, run and test — only what is missing.
# The .NET 10 SDK is the one prerequisite this script expects to find.
set -euo pipefail

command -v dotnet >/dev/null || { echo "install-deps: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }

missing=()
need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }
need qemu-system-x86   # the hypervisor
need qemu-utils        # qemu-img: probing, checking and overlaying images
need busybox-static    # the test guest's userland
need cpio              # the test guest's initramfs
need e2fsprogs         # the test guest's disk (mke2fs -d)
need util-linux        # setpriv, for the access tests
need passwd            # useradd, for the access tests
need clang             # Native AOT links ws with clang
need zlib1g-dev        # ... and zlib
need curl              # the demo's health check and handy API pokes
need iproute2          # bridges, taps and the tests' network namespaces
need nftables          # nft, to read rule sets back (the daemon itself calls libnftables)
need libnftables1      # the traffic policy, through P/Invoke
need dnsmasq-base      # DHCP for workspace networks
need systemd-container # systemd-nspawn and machined: the packaging tests boot a real systemd in a container
need openssl           # detached signatures in the trust tests (openssl pkeyutl)
need zstd               # saved RAM state (stateful stop, templates): QEMU migrates through zstd
need genisoimage       # every workspace's NoCloud seed (an ISO9660 labelled cidata)
need debootstrap       # the Debian test guest (tests/guest/build-debian.sh)
need socat             # the hostile-input replay reaches the socket as an ordinary user through it
need wireguard-go      # spanning networks: userspace WireGuard (this kernel has no wireguard module)
need wireguard-tools   # wg, to configure the wireguard-go interface
need tcpdump           # the spanning-network tests capture the underlay to prove only WireGuard crosses it
need iperf3            # the spanning-network bench: throughput over the tunnel against the underlay

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
