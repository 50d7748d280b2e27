using Workspaces.Client;

namespace Workspaces.Daemon.Audit;

/// <summary>What a caller hands the audit log; the writer gives it its seq and its place in the chain.</summary>
public sealed record AuditEntry(
    DateTimeOffset Time,
    AuditActor Actor,
    string Action,
    string? Target,
    uint? Owner,
    Dictionary<string, string>? Params,
    AuditOutcome Outcome)
{
    /// <summary>The daemon deciding on its own (a guest died, a quarantine, a refusal it made unasked).</summary>
    public static readonly AuditActor Daemon = new(null, "daemon");

    /// <summary>A decision the daemon took itself about a workspace.</summary>
    public static AuditEntry ByDaemon(string action, string? target, uint? owner, Dictionary<string, string>? parameters, int status = 200, string? reason = null) =>
        new(DateTimeOffset.UtcNow, Daemon, action, target, owner, parameters, new AuditOutcome(status, reason));

    /// <summary>The target of a record about a workspace: `ws audit --workspace NAME` and the journal's WORKSPACE= read it.</summary>
    public static string WorkspaceTarget(string name) => "workspaces/" + name;
}
