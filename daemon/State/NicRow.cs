namespace Workspaces.Daemon.State;

/// <summary>A workspace's NIC: where it is plugged, who it is (its MAC, fixed at create; its address, leased while it runs), and its own policy.</summary>
public sealed class NicRow
{
    public string WorkspaceId { get; set; } = "";
    public string Network { get; set; } = "";
    public string Mac { get; set; } = "";
    /// <summary>Leased at start, returned at stop: null while the workspace does not run.</summary>
    public string? Address { get; set; }
    public string Tap { get; set; } = "";
    public string? Egress { get; set; }
    public int? RateKbit { get; set; }

    // Joined from workspaces, for rules and listings.
    public string WorkspaceName { get; set; } = "";
    public uint Owner { get; set; }
}
