namespace Workspaces.Daemon.State;

/// <summary>One row of the networks table: a bridge, its subnet and its traffic policy.</summary>
public sealed class NetworkRow
{
    public string Name { get; set; } = "";
    public string Bridge { get; set; } = "";
    public string Subnet { get; set; } = "";
    public string Gateway { get; set; } = "";
    public bool Nat { get; set; }
    public bool Isolated { get; set; }
    public bool IsolateOwners { get; set; }
    public string Egress { get; set; } = "";
    public long CreatedAt { get; set; }

    /// <summary>A spanning network's VXLAN VNI (issue #17), the same on every member host; null for a host's own network.</summary>
    public int? Vni { get; set; }

    /// <summary>The peers a spanning network reaches, comma-separated; empty for a host's own network.</summary>
    public string Span { get; set; } = "";

    /// <summary>
    /// A spanning network's one MTU (bridge, VXLAN, taps, guests), decided when it was made from the
    /// smallest underlay among its hosts; null for a host's own network, and for a span recorded before
    /// MTUs followed the underlay (SpanMtu then says the 1500-underlay one it was made with).
    /// </summary>
    public int? Mtu { get; set; }

    /// <summary>
    /// This host's share of a spanning network's addresses, as host offsets into the subnet (first and
    /// last), recorded when it joined the span so that the span growing later moves no one's leases;
    /// null for a host's own network, and for a span recorded before shares were (cut again at each start).
    /// </summary>
    public long? SliceFrom { get; set; }

    public long? SliceTo { get; set; }

    public bool Spanning => Vni is not null;

    /// <summary>The MTU a spanning network's links and guests get.</summary>
    public int SpanMtu => Mtu ?? 1370;

    public IReadOnlyList<string> SpanPeers => Span.Split(',', StringSplitOptions.RemoveEmptyEntries);

    public int PrefixLength => int.Parse(Subnet[(Subnet.IndexOf('/') + 1)..]);
}
