namespace Workspaces.Daemon.Core;

/// <summary>
/// The one seam between detection/quarantine and the audit log: every violation rise, quarantine and
/// release is handed here; the audit log (Audit.AuditDecisionRecorder) records each. Other decisions
/// of the daemon's own go through IAuditRecorder.
/// </summary>
public interface IDecisionRecorder
{
    void Record(DecisionRecord decision);
}
