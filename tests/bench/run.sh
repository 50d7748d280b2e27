#!/usr/bin/env bash
# Benchmarks for workspacesd, each against a baseline run side by side: bare qemu-system, libvirt
# (virsh create, virsh list --all) and a 64 MiB image. Prints a table with medians and ratios.
#   tests/bench/run.sh [RUNS] [--no-libvirt] [--only-live] [--only-span] [--only-playground] [--only-launch] [--only-list] [--only-factory] [--only-place] [--only-template] [--only-scale] [--only-audit] [--only-federation [--pull-runs=N] [--sender-rate=RATE] [--pull-profile]]
# --only-launch: start -> QMP running against bare qemu-system (and virsh create unless --no-libvirt), with the daemon's step medians.
# --only-live: issue 13's live move of an idle 256 MiB test guest (LiveTransfer through the tunnel over loopback
# mTLS) against a bare QEMU to QEMU migration over a Unix socket, RUNS rounds; QEMU's downtime and total wall time
# (LiveBench). Needs only QEMU and the test guest (no daemon binary, no libvirt): it can also run as
#   dotnet run --project tests/bench/Workspaces.Bench -c Release -- 5 --only-live
# --only-place: `ws place` with 3 peers (four daemons in network namespaces) against `ws host`, nothing else.
# --only-template: a 256 MiB guest launched from a template (ws snapshot) against the same image booted cold, each
# until a command runs in it; launch+run+remove of `true` from the template beside an unshare of 5 namespaces; the
# template's compressed RAM size (TemplateBench; needs root for its netns).
# --only-scale: ws list at 100, 1,000 and 10,000 defined, the daemon's RSS, restart to list (ScaleBench; needs root for its netns).
# --only-audit: RUNS `ws pause`/`ws resume` pairs (e.g. 1000) against the same daemon with the audit log on and off,
# interleaved, medians and the ratio (target <= +5%), and the audit log's bytes per action (AuditBench).
# --only-list: `ws list` against `virsh list --all` only, each with 100 defined: against a libvirtd of the
# benchmark's own (unless --no-libvirt), and for reference against libvirt's test driver (see ListBench).
# --only-federation: `ws image pull` of 1 GiB between daemons in network namespaces (PullBench): from one peer
# against socat over the same cables (and socat through TLS 1.3 for reference), and from two peers whose
# cables are each limited to RATE (tc tbf, default 400mbit) against from one; N runs each (default 3), after
# one untimed round. --pull-profile: one more pull with perf record on both daemons (CPU by library and
# symbol). Needs root, socat and tc; no libvirt, no test guest. Moves several GiB: never part of tests/run.sh.
# --only-playground: #17's 4-member playground apply (ws playground apply --yes) against the same 4 workspaces by hand
# (ws network create, ws create + ws start each), until member 1 pings every other; and guest to guest on one host by
# HTTP, for the span's table (PlaygroundBench; needs root for its netns).
# --only-span: the spanning network's data path (#17) between two namespaces, no daemon, no guest (tests/bench/span.sh):
# bridge + VXLAN inside wireguard-go against the plain veth underlay, iperf3 5 s each, and the ratio. Guest-to-guest
# over a real spanning network is measured by SpanningNetworkTests (it prints MiB/s both ways).
set -euo pipefail
cd "$(dirname "$0")/../.."

packaging/install-deps.sh
if [[ " $* " == *" --only-span "* ]]; then exec tests/bench/span.sh; fi
# virsh and libvirtd: list's baseline is a session libvirtd of the benchmark's own (ListBench, LibvirtSession).
if [[ " $* " != *" --no-libvirt "* && " $* " != *" --only-place "* && " $* " != *" --only-template "* && " $* " != *" --only-federation "* && " $* " != *" --only-live "* && " $* " != *" --only-audit "* && " $* " != *" --only-playground "* ]]; then
    if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu >/dev/null
    fi
fi
# The system libvirtd, for virsh create (launch); not needed by --only-list.
if [[ " $* " != *" --no-libvirt "* && " $* " != *" --only-list "* && " $* " != *" --only-place "* && " $* " != *" --only-template "* && " $* " != *" --only-federation "* && " $* " != *" --only-live "* && " $* " != *" --only-audit "* && " $* " != *" --only-playground "* ]]; then
    # No systemd here: run libvirt's daemons directly, as Debian packages them.
    # (by their sockets: a container on this machine may run daemons of the same names)
    [[ -S /run/libvirt/virtlogd-sock ]] || virtlogd -d
    [[ -S /run/libvirt/libvirt-sock ]] || libvirtd -d
    for _ in $(seq 50); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
fi
packaging/build.sh
[[ " $* " == *" --only-federation "* ]] || tests/guest/build.sh >/dev/null
export WORKSPACES_DAEMON=$PWD/artifacts/workspacesd/workspacesd WORKSPACES_CLI=$PWD/artifacts/bin/ws
dotnet run --project tests/bench/Workspaces.Bench -c Release -- "$@"
