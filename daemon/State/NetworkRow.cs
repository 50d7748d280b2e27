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

    public bool Spanning => Vni is not null;

    public IReadOnlyList<string> SpanPeers => Span.Split(',', StringSplitOptions.RemoveEmptyEntries);

    public int PrefixLength => int.Parse(Subnet[(Subnet.IndexOf('/') + 1)..]);
}
