namespace Workspaces.Daemon.State;

/// <summary>A workspace held in quarantine: what was done to it, why, since when, and whether the policy or a person did it.</summary>
public sealed class QuarantineRow
{
    public string WorkspaceId { get; set; } = "";
    /// <summary>isolate, pause or stop.</summary>
    public string Action { get; set; } = "";
    public string Reason { get; set; } = "";
    /// <summary>Unix milliseconds.</summary>
    public long Since { get; set; }
    /// <summary>True when the detection policy took it (then only an admin may release it).</summary>
    public bool ByPolicy { get; set; }
    public uint ActorUid { get; set; }
}
