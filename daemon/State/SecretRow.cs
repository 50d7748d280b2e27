namespace Workspaces.Daemon.State;

/// <summary>One sealed secret of a workspace (hex of the sealed box; never the value).</summary>
public sealed class SecretRow
{
    public string WorkspaceId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Sealed { get; set; } = "";
}
