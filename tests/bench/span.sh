#!/usr/bin/env bash
# The spanning-network data path of issue #17 without the daemon, between two "hosts" (network
# namespaces joined by one veth, the underlay): userspace WireGuard (wireguard-go + wg) between the
# hosts, a VXLAN device per host whose remote is the other host's tunnel address (so VXLAN rides
# inside WireGuard), a bridge per host, and one "guest" namespace per host plugged into its bridge
# by a veth (what a tap is to a QEMU guest). Checks that guest A pings guest B, that a capture on
# the underlay shows WireGuard UDP and no ICMP, then measures TCP throughput (iperf3, 5 s) guest to
# guest over the span against host to host over the underlay, and prints the ratio. Then each hop on
# its own, so the cost can be placed: host to host through WireGuard only, through VXLAN inside
# WireGuard (the bridges' own addresses), guest to guest on one host (the bridge only), guest to
# guest across with 4 streams (wireguard-go spreads its crypto over cores), and the CPU seconds
# wireguard-go spent per GB carried across.
#   tests/bench/span.sh            (root; needs wireguard-go, wg, iperf3, tcpdump: packaging/install-deps.sh)
#   UNDERLAY_MTU=9000 tests/bench/span.sh   (one underlay MTU; without it, rows for 1500, 9000 and 65535)
# The MTUs follow the underlay as the daemon's do (SpanPath): WireGuard = underlay - 80, span = that - 50;
# the baseline veth has the same underlay MTU, so the ratio compares like with like.
# Levers, each passed through as it is: GOMAXPROCS=N (wireguard-go's Go threads), TXQLEN=N (the
# WireGuard TUN's and the taps' queue length), WG_MTU=N (overrides underlay - 80).
set -euo pipefail
if [[ -z ${UNDERLAY_MTU:-} ]]; then
    summary=""
    for mtu in 1500 9000 65535; do
        out=$(UNDERLAY_MTU=$mtu "$0"); echo "$out"; echo
        summary+=$(printf '%-14s %s' "underlay $mtu:" "$(grep -E '^(guest ns -> guest ns over|ratio)' <<<"$out" | tr -s ' ' | paste -sd ' ')")$'\n'
    done
    printf '%s' "$summary"
    exit
fi
umask 077   # the private keys below
id=$$; A=pgA$id; B=pgB$id; GA=pgGA$id; GB=pgGB$id; GA2=pgGC$id
WG_MTU=${WG_MTU:-$((UNDERLAY_MTU - 80))}  # the underlay less 80 (IPv6 outer worst case + UDP + WireGuard header)
SPAN_MTU=$((WG_MTU - 50))  # VXLAN adds 50 (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14)
dir=$(mktemp -d)
cleanup() {
    for ns in $A $B; do
        [[ -f $dir/$ns.pid ]] && kill "$(cat "$dir/$ns.pid")" 2>/dev/null || true
    done
    for ns in $GA $GB $GA2 $A $B; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
for ns in $A $B $GA $GB $GA2; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add u0 netns $A type veth peer name u0 netns $B
ip -n $A addr add 10.98.0.1/24 dev u0; ip -n $A link set u0 mtu "$UNDERLAY_MTU" up
ip -n $B addr add 10.98.0.2/24 dev u0; ip -n $B link set u0 mtu "$UNDERLAY_MTU" up

host() { # ns index underlay-self underlay-other guest-ns guest-ip (prints the WireGuard interface name)
    local ns=$1 i=$2 g=$5 gip=$6
    local wg=wsg$i$id
    wg=${wg:0:15}
    wg genkey >"$dir/$ns.key"; wg pubkey <"$dir/$ns.key" >"$dir/$ns.pub"
    # wireguard-go's UAPI socket is /var/run/wireguard/NAME.sock, shared by all namespaces: one name per host.
    WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" wireguard-go "$wg" >"$dir/$ns.log" 2>&1 &
    echo $! >"$dir/$ns.pid"
    for _ in $(seq 100); do ip -n "$ns" link show "$wg" >/dev/null 2>&1 && break; sleep 0.05; done
    ip netns exec "$ns" wg set "$wg" private-key "$dir/$ns.key" listen-port 51820
    ip -n "$ns" addr add "172.30.0.$i/24" dev "$wg"
    ip -n "$ns" link set "$wg" mtu $WG_MTU up
    [[ -z ${TXQLEN:-} ]] || ip -n "$ns" link set "$wg" txqueuelen "$TXQLEN"
    ip -n "$ns" link add wsv42 type vxlan id 42 local "172.30.0.$i" dstport 4789
    ip -n "$ns" link set wsv42 mtu $SPAN_MTU
    ip -n "$ns" link add wsb42 type bridge
    ip -n "$ns" link set wsb42 mtu $SPAN_MTU up
    ip -n "$ns" link set wsv42 master wsb42 up
    ip -n "$ns" link add tap0 type veth peer name eth0 netns "$g"
    ip -n "$ns" link set tap0 mtu $SPAN_MTU master wsb42 up
    ip -n "$g" addr add "$gip/24" dev eth0
    ip -n "$g" link set eth0 mtu $SPAN_MTU up
    echo "$wg"
}
WA=$(host $A 1 10.98.0.1 10.98.0.2 $GA 10.77.0.11)
WB=$(host $B 2 10.98.0.2 10.98.0.1 $GB 10.77.0.12)
ip netns exec $A wg set "$WA" peer "$(cat "$dir/$B.pub")" endpoint 10.98.0.2:51820 allowed-ips 172.30.0.2/32
ip netns exec $B wg set "$WB" peer "$(cat "$dir/$A.pub")" endpoint 10.98.0.1:51820 allowed-ips 172.30.0.1/32
# Head-end replication: broadcast and unknown unicast go to every other member host's tunnel address.
ip netns exec $A bridge fdb append 00:00:00:00:00:00 dev wsv42 dst 172.30.0.2
ip netns exec $B bridge fdb append 00:00:00:00:00:00 dev wsv42 dst 172.30.0.1

ip netns exec $A tcpdump -ni u0 -w "$dir/u0.pcap" >/dev/null 2>&1 & dump=$!
sleep 1   # tcpdump has no readiness signal; a second for it to open the interface (capture only, not the check)
ip netns exec $GA busybox ping -c 3 -W 2 10.77.0.12
ip netns exec $GA busybox ping -c 2 -s $((SPAN_MTU - 28)) 10.77.0.12 >/dev/null && echo "full-size frames ($SPAN_MTU bytes of IP) cross the span"
kill $dump; wait $dump 2>/dev/null || true
icmp=$(tcpdump -nr "$dir/u0.pcap" icmp 2>/dev/null | wc -l)
wgudp=$(tcpdump -nr "$dir/u0.pcap" udp port 51820 2>/dev/null | wc -l)
echo "underlay capture: $wgudp WireGuard UDP packets, $icmp ICMP packets"
[[ $icmp == 0 && $wgudp -gt 0 ]]

measure() { # client-ns server-ns server-ip [streams] -> Mbit/s
    ip netns exec "$2" iperf3 -s -1 -D -B "$3" >/dev/null
    sleep 0.3   # iperf3 -D has no readiness signal; the client retries below if it is early
    for _ in 1 2 3; do
        out=$(ip netns exec "$1" iperf3 -c "$3" -t 5 -P "${4:-1}" -J 2>/dev/null) && break; sleep 0.5
    done
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))' <<<"$out"
}
# A second guest on host A (the same bridge), and an address on each bridge, for the hops on their own.
ip -n $A link add tap1 type veth peer name eth0 netns $GA2
ip -n $A link set tap1 mtu $SPAN_MTU master wsb42 up
ip -n $GA2 addr add 10.77.0.13/24 dev eth0; ip -n $GA2 link set eth0 mtu $SPAN_MTU up
ip -n $A addr add 10.77.0.1/24 dev wsb42; ip -n $B addr add 10.77.0.2/24 dev wsb42
cpu() { # CPU seconds wireguard-go has used in both hosts so far
    python3 -c 'import os,sys; t=os.sysconf("SC_CLK_TCK"); print(sum(sum(int(x) for x in open(f"/proc/{p}/stat").read().rsplit(")",1)[1].split()[11:13]) for p in sys.argv[1:])/t)' \
        "$(cat "$dir/$A.pid")" "$(cat "$dir/$B.pid")"
}
under=$(measure $A $B 10.98.0.2)
wgonly=$(measure $A $B 172.30.0.2)
vxlan=$(measure $A $B 10.77.0.2)
local1=$(measure $GA $GA2 10.77.0.13)
before=$(cpu); start=$(date +%s.%N)
span=$(measure $GA $GB 10.77.0.12)
after=$(cpu); end=$(date +%s.%N)
span4=$(measure $GA $GB 10.77.0.12 4)
printf '%-58s %10s %8s\n' "path (underlay MTU $UNDERLAY_MTU, WireGuard $WG_MTU, span $SPAN_MTU)" "Mbit/s" "ratio"
row() { printf '%-58s %10s %8s\n' "$1" "$2" "$(python3 -c "print(f'{$2/$under:.3f}x')")"; }
row "host ns -> host ns over the underlay veth (baseline)" "$under"
row "host ns -> host ns through WireGuard only" "$wgonly"
row "host ns -> host ns through VXLAN inside WireGuard" "$vxlan"
row "guest ns -> guest ns on one host (bridge only)" "$local1"
row "guest ns -> guest ns over bridge+VXLAN+WireGuard" "$span"
row "the same, 4 TCP streams" "$span4"
python3 -c "s=$end-$start; gb=$span*s/8e3; print(f'wireguard-go: {($after-$before)/s:.2f} CPUs busy during the span run, {($after-$before)/gb:.1f} CPU s per GB carried')"
python3 -c "print(f'ratio span/underlay: {$span/$under:.3f}x')"
