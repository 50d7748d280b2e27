namespace Workspaces.Daemon.Core;

/// <summary>
/// The one seam between detection/quarantine and the audit log: every violation rise, quarantine and
/// release is handed here. The audit log binds it at merge; until then NoDecisionRecorder drops them
/// (they still go out as events on the EventBus).
/// </summary>
public interface IDecisionRecorder
{
    void Record(DecisionRecord decision);
}
