using System.Globalization;
using Workspaces.Client;
using Workspaces.Daemon.Core;

namespace Workspaces.Daemon.Audit;

/// <summary>
/// Detection's decisions (a rise of violation counters, a quarantine, a release) as audit records: the
/// daemon is the actor unless a user quarantined or released by hand, the workspace is the target, the
/// counts and the quarantine action are the parameters.
/// </summary>
public sealed class AuditDecisionRecorder(AuditLog audit) : IDecisionRecorder
{
    public void Record(DecisionRecord decision)
    {
        var parameters = decision.Counts.ToDictionary(c => c.Key, c => c.Value.ToString(CultureInfo.InvariantCulture));
        if (decision.IntervalSeconds is { } seconds) parameters["intervalSeconds"] = seconds.ToString(CultureInfo.InvariantCulture);
        if (decision.Action is { } action) parameters["action"] = action;
        parameters["id"] = decision.WorkspaceId;
        var actor = decision.ActorUid is { } uid ? new AuditActor(uid, "socket") : AuditEntry.Daemon;
        audit.Record(new AuditEntry(decision.Time, actor, decision.Kind, AuditEntry.WorkspaceTarget(decision.Workspace), decision.Owner,
            parameters, new AuditOutcome(200, decision.Reason)));
    }
}
