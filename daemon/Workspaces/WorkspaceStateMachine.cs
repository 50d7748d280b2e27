using Workspaces.Client;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The workspace state machine, explicit: which action is legal from which state, and where it leads.
///   Defined --start--> Running <--pause/resume--> Paused
///   Running|Paused --stop--> Stopped --start--> Running
///   Running|Paused --stop --stateful--> Saved --start--> Running (restored where it was; --discard-state: booted)
///   Running|Paused --snapshot--> (same state) (a template image made from its disk and RAM)
///   Running --reboot--> Running;  QEMU dying on its own --> Failed --start--> Running
///   Defined|Stopped|Saved|Failed --delete--> (gone)
///   Defined|Stopped --checkin, copy--> (same state; the disk is at rest, so it can be read whole)
///   MigrationUnknown: nothing until `ws move --recover` (or the daemons at start) settle the move
/// </summary>
public static class WorkspaceStateMachine
{
    private static readonly Dictionary<string, WorkspaceAction[]> Allowed = new()
    {
        [WorkspaceStates.Defined] = [WorkspaceAction.Start, WorkspaceAction.Delete, WorkspaceAction.Checkin, WorkspaceAction.Copy],
        [WorkspaceStates.Running] = [WorkspaceAction.Pause, WorkspaceAction.Stop, WorkspaceAction.Reboot, WorkspaceAction.Snapshot],
        [WorkspaceStates.Paused] = [WorkspaceAction.Resume, WorkspaceAction.Stop, WorkspaceAction.Snapshot],
        [WorkspaceStates.Stopped] = [WorkspaceAction.Start, WorkspaceAction.Delete, WorkspaceAction.Checkin, WorkspaceAction.Copy],
        // Its disk belongs with its saved RAM: no checkin or copy until it runs (or is started with its state discarded).
        [WorkspaceStates.Saved] = [WorkspaceAction.Start, WorkspaceAction.Delete],
        [WorkspaceStates.Failed] = [WorkspaceAction.Start, WorkspaceAction.Delete],
        // A move's outcome is open: the peer may hold the only good copy, so nothing runs or goes until it is settled.
        [WorkspaceStates.MigrationUnknown] = [],
    };

    public static bool IsActive(string state) => state is WorkspaceStates.Running or WorkspaceStates.Paused;

    public static string[] AllowedFrom(string state) =>
        Allowed.TryGetValue(state, out var actions) ? actions.Select(Name).ToArray() : [];

    /// <summary>Throws a 409 that names the current state and what is allowed from it.</summary>
    public static void Check(string workspace, string state, WorkspaceAction action)
    {
        if (Allowed.TryGetValue(state, out var actions) && actions.Contains(action)) return;
        if (state == WorkspaceStates.MigrationUnknown)
            throw WorkspacesException.Conflict(
                $"cannot {Name(action)} workspace '{workspace}': a move of it has an unknown outcome (MigrationUnknown); " +
                "settle it with `ws move NAME PEER --recover` (see `ws show` for which move and peer)", []);
        var allowed = AllowedFrom(state);
        throw WorkspacesException.Conflict(
            $"cannot {Name(action)} workspace '{workspace}': it is {state}; allowed from {state}: {(allowed.Length == 0 ? "nothing" : string.Join(", ", allowed))}",
            allowed);
    }

    public static string Name(WorkspaceAction action) => action.ToString().ToLowerInvariant();
}
