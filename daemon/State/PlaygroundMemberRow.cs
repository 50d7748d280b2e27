namespace Workspaces.Daemon.State;

/// <summary>A member of a playground: its workspace, and the role and index (from 1) it was made for.</summary>
public sealed class PlaygroundMemberRow
{
    public string Playground { get; set; } = "";
    public string WorkspaceId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Role { get; set; } = "";
    public int Idx { get; set; }
}
