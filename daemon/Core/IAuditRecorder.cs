namespace Workspaces.Daemon.Core;

/// <summary>
/// Where a layer records a decision the daemon took on its own (a guest that died, a refusal it made
/// unasked, a quarantine, a peer that joined, a transfer that ended) in the signed audit log. It lives
/// here, low, so that any layer can record; the audit log (Audit) is the one implementation. Requests
/// need nothing: the API records each state-changing request itself.
/// </summary>
public interface IAuditRecorder
{
    /// <summary>
    /// Queues one record with the daemon as its actor; never waits, never throws. <paramref name="action"/>
    /// is dotted ("workspace.died", "workspace.quarantined"); <paramref name="target"/> is "COLLECTION/NAME"
    /// ("workspaces/web1": `ws audit --workspace` and the journal's WORKSPACE= read it); <paramref name="owner"/>
    /// is the uid whose workspace it is (they may read the record); <paramref name="status"/> says how it
    /// ended as HTTP does (200 done, 4xx refused, 5xx failed) with <paramref name="reason"/> saying why.
    /// Parameters are recorded as given: pass no secrets. <paramref name="actorUid"/> names the user when the
    /// decision was theirs, carried out by the daemon (a quarantine by hand); null means the daemon decided.
    /// </summary>
    void Decided(string action, string? target, uint? owner, IReadOnlyDictionary<string, string>? parameters = null,
        int status = 200, string? reason = null, uint? actorUid = null);
}
