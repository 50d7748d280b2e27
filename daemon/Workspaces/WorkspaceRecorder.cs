using Workspaces.Daemon.Core;
using Workspaces.Client;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>Records a workspace's state in SQLite, logs it, and tells event subscribers: the three always together.</summary>
public sealed class WorkspaceRecorder(WorkspaceRepository workspaces, EventBus events, ILogger<WorkspaceRecorder> logger)
{
    public void SetState(WorkspaceRow row, string state, string? reason, int? pid, string? accelerator)
    {
        workspaces.SetState(row.Id, state, reason, pid, accelerator);
        (row.State, row.Reason, row.Pid, row.Accelerator) = (state, reason, pid, accelerator);
        LifecycleLog.StateChanged(logger, row.Name, state, reason);
        Publish(row);
    }

    /// <summary>A state another repository wrote to SQLite (in its own transaction): the row follows, then the log and the event.</summary>
    public void Recorded(WorkspaceRow row, string state, string? reason)
    {
        (row.State, row.Reason, row.Pid) = (state, reason, null);
        LifecycleLog.StateChanged(logger, row.Name, state, reason);
        Publish(row);
    }

    public void Publish(WorkspaceRow row) => Publish(row, "workspace.state", row.State, row.Reason);

    public void Publish(WorkspaceRow row, string type, string? state, string? reason) =>
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, type, row.Name, state, reason, null, row.Owner), row.Owner);
}
