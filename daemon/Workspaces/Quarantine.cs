using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The right to take action: puts a workspace in quarantine (isolate, pause or stop) and lets it out.
/// The quarantine is kept in SQLite first, so isolation rules are rebuilt from it by every policy
/// apply, including the one at daemon start. Who may release: a quarantine the detection policy took,
/// or an admin put, is released by an admin only (as Incus keeps project restrictions to admins); an
/// owner may release one they put on their own workspace by hand.
/// </summary>
public sealed class Quarantine(
    QuarantineRepository quarantines,
    Firewall firewall,
    WorkspaceTransitions transitions,
    EventBus events,
    IAuditRecorder audit,
    ILogger<Quarantine> logger)
{
    public QuarantineRow? Of(string workspaceId) => quarantines.Find(workspaceId);

    /// <summary>
    /// A quarantine is undone by its release only: a workspace paused by one is not resumed, nor one stopped
    /// by one started, by the ordinary actions (anyone's: the release is where the decision is recorded).
    /// </summary>
    public void CheckAction(WorkspaceRow row, WorkspaceAction action)
    {
        if (quarantines.Find(row.Id) is not { } held) return;
        if ((held.Action, action) is (QuarantineActions.Pause, WorkspaceAction.Resume) or (QuarantineActions.Stop, WorkspaceAction.Start))
            throw WorkspacesException.Conflict($"workspace '{row.Name}' is in quarantine ({held.Action}: {held.Reason}); `ws quarantine {row.Name} --release` first");
    }

    /// <summary>False when it was already in quarantine (the first one stands). by: null when the policy decided.</summary>
    public async Task<bool> TakeAsync(WorkspaceRow row, string action, string reason, Caller? by, CancellationToken ct)
    {
        if (!QuarantineActions.IsOne(action)) throw WorkspacesException.BadRequest($"quarantine action {Names.Quote(action)} is not isolate, pause or stop");
        var entry = new QuarantineRow
        {
            WorkspaceId = row.Id, Action = action, Reason = reason, Since = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            ByPolicy = by is null, ActorUid = by?.Uid ?? 0,
        };
        if (!quarantines.TryInsert(entry)) return false;
        try
        {
            await ApplyAsync(row, action, ct);
        }
        catch
        {
            quarantines.Delete(row.Id); // not held after all: nothing must claim it is
            if (action == QuarantineActions.Isolate) await firewall.ApplyAsync(CancellationToken.None);
            throw;
        }
        QuarantineLog.Taken(logger, row.Name, action, reason);
        Announce("workspace.quarantined", row, action, reason, by?.Uid);
        return true;
    }

    public async Task ReleaseAsync(WorkspaceRow row, Caller caller, CancellationToken ct)
    {
        var entry = quarantines.Find(row.Id) ?? throw WorkspacesException.Conflict($"workspace '{row.Name}' is not in quarantine");
        if (!caller.IsAdmin && (entry.ByPolicy || entry.ActorUid != caller.Uid))
            throw WorkspacesException.Forbidden(entry.ByPolicy
                ? $"workspace '{row.Name}' was put in quarantine by the detection policy ({entry.Reason}); only an admin may release it"
                : $"workspace '{row.Name}' was put in quarantine by an admin; only an admin may release it");
        quarantines.Delete(row.Id);
        switch (entry.Action)
        {
            case QuarantineActions.Isolate: await firewall.ApplyAsync(ct); break;
            case QuarantineActions.Pause when row.State == WorkspaceStates.Paused:
                await transitions.ActAsync(row.Name, WorkspaceAction.Resume, OwnerOf(row), new ActionOptions(), ct);
                break;
            // stop: released means it may be started again; starting it is its owner's choice.
        }
        QuarantineLog.Released(logger, row.Name, entry.Action, caller.Uid);
        Announce("workspace.released", row, entry.Action, $"released from quarantine ({entry.Action}) by uid {caller.Uid}", caller.Uid);
    }

    private async Task ApplyAsync(WorkspaceRow row, string action, CancellationToken ct)
    {
        switch (action)
        {
            case QuarantineActions.Isolate: await firewall.ApplyAsync(ct); break;
            case QuarantineActions.Pause when row.State == WorkspaceStates.Running:
                await transitions.ActAsync(row.Name, WorkspaceAction.Pause, OwnerOf(row), new ActionOptions(), ct);
                break;
            case QuarantineActions.Stop when row.State is WorkspaceStates.Running or WorkspaceStates.Paused:
                await transitions.ActAsync(row.Name, WorkspaceAction.Stop, OwnerOf(row), new ActionOptions(Force: true), ct);
                break;
        }
    }

    /// <summary>The daemon acting on the owner's workspace (names are per owner).</summary>
    private static Caller OwnerOf(WorkspaceRow row) => Caller.System with { ChosenOwner = row.Owner };

    private void Announce(string kind, WorkspaceRow row, string action, string reason, uint? actor)
    {
        var now = DateTimeOffset.UtcNow;
        var details = new Dictionary<string, string> { ["action"] = action, ["byPolicy"] = (actor is null).ToString().ToLowerInvariant() };
        if (actor is { } uid) details["actorUid"] = uid.ToString();
        events.Publish(new EventInfo(now, kind, row.Name, null, reason, null, row.Owner, Details: details), row.Owner);
        audit.Decided(kind, "workspaces/" + row.Name, row.Owner, new Dictionary<string, string> { ["action"] = action, ["id"] = row.Id },
            reason: reason, actorUid: actor);
    }
}
