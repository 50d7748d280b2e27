namespace Workspaces.Daemon.State;

/// <summary>A workspace's NIC: where it is plugged, who it is (MAC and address), and its own policy.</summary>
public sealed class NicRow
{
    public string WorkspaceId { get; set; } = "";
    public string Network { get; set; } = "";
    public string Mac { get; set; } = "";
    public string Address { get; set; } = "";
    public string Tap { get; set; } = "";
    public string? Egress { get; set; }
    public int? RateKbit { get; set; }

    // Joined from workspaces, for rules and listings.
    public string WorkspaceName { get; set; } = "";
    public uint Owner { get; set; }
}
