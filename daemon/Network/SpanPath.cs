namespace Workspaces.Daemon.Network;

/// <summary>
/// The numbers of a spanning network's data path (issue #17): guest frames ride VXLAN, and VXLAN
/// rides WireGuard between the hosts, so each layer's header comes off the MTU below it. The MTUs
/// follow the underlay (as Calico, Flannel and Incus do): WireGuard's is the underlay path's less 80,
/// the span's (VXLAN, bridge, taps, guests) that less 50. Too large an MTU inside and the guests'
/// full-size packets vanish (VXLAN frames are not fragmented into a tunnel that drops what exceeds
/// it); too small and every byte costs more packets, which is what userspace WireGuard pays for
/// (wireguard-go without TUN offloads spends a syscall per packet). tests/bench/span.sh measures both.
/// </summary>
public static class SpanPath
{
    /// <summary>WireGuard's cost on the underlay, the worst case: outer IPv6 40 + UDP 8 + WireGuard 32.</summary>
    public const int WireGuardOverhead = 80;

    /// <summary>VXLAN's cost: outer IPv4 20 + UDP 8 + VXLAN 8 + the inner Ethernet header 14.</summary>
    public const int VxlanOverhead = 50;

    /// <summary>The underlay assumed when nothing better is known (a host that does not report its own).</summary>
    public const int DefaultUnderlayMtu = 1500;

    /// <summary>The span's MTU over a 1500-byte underlay, and of a spanning network recorded before MTUs followed the underlay.</summary>
    public const int Mtu = DefaultUnderlayMtu - WireGuardOverhead - VxlanOverhead;

    /// <summary>The smallest span MTU accepted: IPv6's minimum link MTU, so guests' IPv6 works on any span.</summary>
    public const int MinMtu = 1280;

    /// <summary>The largest: an IPv4 packet's limit (64 KiB less one) is the most any of the links takes.</summary>
    public const int MaxUnderlayMtu = 65535;

    /// <summary>The WireGuard interface's MTU over an underlay path of this MTU.</summary>
    public static int WireGuardMtu(int underlayMtu) => Math.Min(underlayMtu, MaxUnderlayMtu) - WireGuardOverhead;

    /// <summary>The span's MTU (VXLAN, bridge, taps, and what guests are told) over an underlay path of this MTU.</summary>
    public static int SpanMtu(int underlayMtu) => WireGuardMtu(underlayMtu) - VxlanOverhead;

    /// <summary>VXLAN's IANA port; it only ever travels inside the tunnel.</summary>
    public const int VxlanPort = 4789;

    /// <summary>WireGuard's usual port: the one thing a spanning network puts on the underlay.</summary>
    public const int WireGuardPort = 51820;

    /// <summary>VNIs are 24 bits; 0 is left out so that "no VNI" never means one.</summary>
    public const int MaxVni = (1 << 24) - 1;

    /// <summary>The VXLAN device of a VNI (Linux names are at most 15 characters: "wsvx-" and up to 8 digits fit).</summary>
    public static string VxlanDevice(int vni) => $"wsvx-{vni}";
}
