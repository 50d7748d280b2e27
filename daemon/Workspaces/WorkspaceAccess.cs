using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// Which workspace a name means to a caller. Names are per owner, so one user's names tell another
/// nothing: a bare name is one of the caller's (or, for an admin with ?owner=UID, that user's), and
/// anyone else's workspace is as absent as a missing one.
/// </summary>
public sealed class WorkspaceAccess(WorkspaceRepository workspaces)
{
    /// <summary>A user's own; an admin's everyone's, or one user's when an owner was chosen.</summary>
    public IReadOnlyList<WorkspaceRow> List(Caller caller) =>
        workspaces.List(caller.IsAdmin && caller.ChosenOwner is null ? null : caller.Namespace);

    /// <summary>One page of what List gives, filtered: the owner is decided here, by the same rule.</summary>
    public IReadOnlyList<WorkspaceRow> Page(Caller caller, WorkspaceQuery query) =>
        workspaces.Page(query with { Owner = caller.IsAdmin && caller.ChosenOwner is null ? null : caller.Namespace });

    public WorkspaceRow Get(string name, Caller caller)
    {
        var row = workspaces.Find(caller.Namespace, name);
        if (row is not null && caller.CanSee(row.Owner)) return row;
        // Admins see every owner anyway: tell them where the name they meant lives.
        var others = caller.IsAdmin ? workspaces.OwnersOf(name, caller.Namespace) : [];
        throw WorkspacesException.NotFound($"no workspace named {Names.Quote(name)}" + (others.Count == 0 ? "" :
            $" of uid {caller.Namespace}; uid {string.Join(", ", others)} {(others.Count == 1 ? "has" : "have")} one: choose with ?owner=UID (ws --owner UID)"));
    }

    /// <summary>Checks, without acting, that the caller may do this now (so the API can answer 4xx before 202).</summary>
    public WorkspaceRow Check(string name, WorkspaceAction action, Caller caller, bool force = false)
    {
        var row = Get(name, caller);
        // --force does not reach a workspace whose move is open: its peer may hold the only other copy.
        if (!(force && action == WorkspaceAction.Delete && row.State != WorkspaceStates.MigrationUnknown)) WorkspaceStateMachine.Check(name, row.State, action);
        return row;
    }

    /// <summary>Only ever said of the namespace the caller acts in: another owner's names are never confirmed.</summary>
    public static WorkspacesException NameTaken(string name, uint owner) =>
        WorkspacesException.Conflict($"a workspace named {Names.Quote(name)} of uid {owner} already exists");
}
