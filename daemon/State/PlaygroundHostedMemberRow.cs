namespace Workspaces.Daemon.State;

/// <summary>
/// A workspace this host runs as a member of a playground another host applied (AppliedBy, that peer's
/// name here): the record that lets this host sign the member's identity entry and list it.
/// </summary>
public sealed class PlaygroundHostedMemberRow
{
    public string WorkspaceId { get; set; } = "";
    public string Playground { get; set; } = "";
    public string AppliedBy { get; set; } = "";
    public string Name { get; set; } = "";
    public string Role { get; set; } = "";
    public int Idx { get; set; }
    public long RecordedAt { get; set; }
}
