namespace Workspaces.Daemon.State;

/// <summary>
/// A member of a playground: its workspace, and the role and index (from 1) it was made for. Host is
/// the peer that holds it (null: this host); a remote member's workspace id is the peer's, not known here.
/// </summary>
public sealed class PlaygroundMemberRow
{
    public string Playground { get; set; } = "";
    public string WorkspaceId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Role { get; set; } = "";
    public int Idx { get; set; }
    public string? Host { get; set; }
}
