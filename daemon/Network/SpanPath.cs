namespace Workspaces.Daemon.Network;

/// <summary>
/// The numbers of a spanning network's data path (issue #17): guest frames ride VXLAN, and VXLAN
/// rides WireGuard between the hosts, so each layer's header comes off the MTU below it. Too large
/// an MTU inside and the guests' full-size packets vanish (VXLAN frames are not fragmented into a
/// tunnel that drops what exceeds it); tests/bench/span.sh sends full-size frames across.
/// </summary>
public static class SpanPath
{
    /// <summary>wireguard-go's own default: a 1500-byte underlay less 80 (outer IPv6 40 + UDP 8 + WireGuard 32), the worst case.</summary>
    public const int WireGuardMtu = 1420;

    /// <summary>VXLAN's cost: outer IPv4 20 + UDP 8 + VXLAN 8 + the inner Ethernet header 14.</summary>
    public const int VxlanOverhead = 50;

    /// <summary>The MTU of a spanning network's bridge, VXLAN device and taps, and what its guests are told by DHCP.</summary>
    public const int Mtu = WireGuardMtu - VxlanOverhead;

    /// <summary>VXLAN's IANA port; it only ever travels inside the tunnel.</summary>
    public const int VxlanPort = 4789;

    /// <summary>WireGuard's usual port: the one thing a spanning network puts on the underlay.</summary>
    public const int WireGuardPort = 51820;

    /// <summary>VNIs are 24 bits; 0 is left out so that "no VNI" never means one.</summary>
    public const int MaxVni = (1 << 24) - 1;

    /// <summary>The VXLAN device of a VNI (Linux names are at most 15 characters: "wsvx-" and up to 8 digits fit).</summary>
    public static string VxlanDevice(int vni) => $"wsvx-{vni}";
}
