namespace Workspaces.Daemon.State;

/// <summary>A checkin in progress: what it is making, and the last step it completed.</summary>
public sealed class CheckinRow
{
    public const string Recorded = "recorded";
    public const string Registered = "registered";

    public string WorkspaceId { get; set; } = "";
    public string ImageId { get; set; } = "";
    public string Disk { get; set; } = "";
    public bool Adopted { get; set; }
    public string Step { get; set; } = Recorded;
    public long StartedAt { get; set; }
}
