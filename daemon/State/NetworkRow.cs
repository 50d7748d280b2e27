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

    public int PrefixLength => int.Parse(Subnet[(Subnet.IndexOf('/') + 1)..]);
}
