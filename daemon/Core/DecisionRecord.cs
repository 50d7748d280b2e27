namespace Workspaces.Daemon.Core;

/// <summary>
/// A decision or observation of the daemon's own that the audit log must keep: a rise of a
/// workspace's violation counters (one per poll interval, with the count), a quarantine, a release.
/// </summary>
/// <param name="Kind">traffic.violation, workspace.quarantined or workspace.released.</param>
/// <param name="Counts">By counter (spoofed, egressRefused, rateDropped): the rise within the interval.</param>
/// <param name="IntervalSeconds">The interval the counts rose within (violations only).</param>
/// <param name="Action">isolate, pause or stop (quarantine and release only).</param>
/// <param name="ActorUid">Who acted: null when the daemon decided on its own (the detection policy).</param>
public sealed record DecisionRecord(
    DateTimeOffset Time,
    string Kind,
    string WorkspaceId,
    string Workspace,
    uint Owner,
    IReadOnlyDictionary<string, long> Counts,
    double? IntervalSeconds,
    string? Action,
    string Reason,
    uint? ActorUid);
