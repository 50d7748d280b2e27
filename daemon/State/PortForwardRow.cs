namespace Workspaces.Daemon.State;

/// <summary>A port on the host forwarded to a port of a workspace.</summary>
public sealed class PortForwardRow
{
    public string WorkspaceId { get; set; } = "";
    public string Protocol { get; set; } = "tcp";
    public int HostPort { get; set; }
    public int GuestPort { get; set; }
}
