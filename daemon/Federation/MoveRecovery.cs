using System.Collections.Concurrent;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Settles one half-done move by asking the other side for its durable record (issue #13 item 8), for every
/// phase and both roles; MigrationResolver runs it at start and in the background, `ws move --recover` on demand.
/// The destination's Finish is the commit point (recorded only once its copy is whole):
///   destination at Finish or Succeeded -> the source deletes its copy and confirms; the destination's is the one.
///   destination short of Finish, Failed, or never admitted -> it drops what it received; the source keeps (and
///   resumes) its own.
/// A destination at Finish whose source says it kept its copy (an operator's --keep-here) drops its own.
/// A peer that cannot be asked leaves the move open (503): the source's copy stays MigrationUnknown, never run.
/// KeepHere is the operator's word that the peer is gone for good: this host's copy becomes the only one.
/// </summary>
public sealed class MoveRecovery(
    MigrationRepository migrations,
    PeerRepository peers,
    PeerChannel channel,
    WorkspaceRepository workspaces,
    WorkspaceRecorder recorder,
    WorkspaceDefinitions definitions,
    WorkspaceTransitions transitions,
    SavedStates savedStates,
    MigrationTransferRepository transfers,
    WorkspaceLayout layout,
    TimeProvider clock,
    ILogger<MoveRecovery> logger)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new();

    /// <summary>The open move of a workspace by name, here in either role (the source's copy may be deleted already).</summary>
    public MigrationRow? OpenMoveOf(string name) =>
        migrations.Unresolved().LastOrDefault(m => m.Name == name);

    /// <summary>The open move this host started of the workspace with that id (a name may also be on a copy arriving here).</summary>
    public MigrationRow? OpenMoveFrom(string workspaceId) =>
        migrations.Unresolved().LastOrDefault(m => m.Role == MigrationPhase.SourceRole && m.WorkspaceId == workspaceId);

    /// <summary>
    /// Marks the source's copy of an open move as not to be run or deleted until the move is settled. A live move's
    /// QEMU is still there, paused: its pid stays recorded, as LiveMove records it.
    /// </summary>
    public void HoldSource(MigrationRow move, string why)
    {
        if (move.Role != MigrationPhase.SourceRole || workspaces.FindById(move.WorkspaceId) is not { } row) return;
        if (row.State == WorkspaceStates.MigrationUnknown) return;
        recorder.SetState(row, WorkspaceStates.MigrationUnknown,
            $"move to '{move.Peer}' (ticket {move.TicketHash[..12]}, {move.Mode}, recorded at {move.Phase}) has no known outcome: {why}; " +
            $"`ws move {move.Name} {move.Peer} --recover` asks the peer now, `--recover --keep-here` resumes this copy if the peer is gone for good",
            row.Pid, row.Accelerator);
    }

    public async Task<PeerMigrationState> ResolveAsync(MigrationRow move, bool keepHere, CancellationToken ct)
    {
        // One settlement of a move at a time (the background resolver and `ws move --recover` may meet), on its latest record.
        var gate = _gates.GetOrAdd(move.TicketHash, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            move = migrations.Find(move.TicketHash)!;
            if (move.Outcome is not (null or MigrationOutcome.Unknown)) return State(move.TicketHash);
            if (move.Role == MigrationPhase.SourceRole) await ResolveSourceAsync(move, keepHere, ct);
            else await ResolveDestinationAsync(move, keepHere, ct);
            return State(move.TicketHash);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task ResolveSourceAsync(MigrationRow move, bool keepHere, CancellationToken ct)
    {
        var (http, answer, why) = await AskAsync(move, ct);
        if (answer is null && why is not null)
        {
            if (!keepHere) throw Undecided(move, why);
            await KeepSourceAsync(move, $"the operator kept this copy (--keep-here): {why}", ct);
            return;
        }
        if (answer is null)
        {
            await KeepSourceAsync(move, $"peer '{move.Peer}' never admitted the ticket", ct);
            return;
        }
        bool finished = answer.Outcome == MigrationOutcome.Succeeded || answer.Outcome is null && answer.Phase is MigrationPhase.Finish or MigrationPhase.Confirm;
        if (finished)
        {
            if (keepHere)
                throw WorkspacesException.Conflict($"peer '{move.Peer}' finished the move (ticket {move.TicketHash[..12]}) and holds the workspace: " +
                                                   "--keep-here would make two copies; recover without it");
            if (move.Copy)
            {
                // A copy (--keep-source) leaves the source as it was, whatever the peer holds: it only goes on where it stood.
                if (answer.Outcome is null) await ConfirmAsync(http!, move, ct);
                await KeepSourceAsync(move, $"peer '{move.Peer}' finished the copy; this host keeps its workspace", ct, MigrationOutcome.Succeeded);
                return;
            }
            await DeleteSourceAsync(move, http!, answer, ct);
            return;
        }
        if (answer.Outcome is null)
        {
            // Short of Finish: the destination drops what it received, and only then is this copy the only one.
            var closed = await PeerCall.PostAsync(http!, move.Peer, $"v1/peer/migrations/{move.TicketHash}/abort",
                new PeerMigrationState(move.TicketHash, move.Phase, null, null), WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, ct);
            if (closed.Outcome != MigrationOutcome.Failed)
                throw Undecided(move, $"peer '{move.Peer}' is at {closed.Phase} and did not drop its side");
            await KeepSourceAsync(move, $"peer '{move.Peer}' stopped at {answer.Phase}, before Finish, and closed its side (dropped what it received)", ct);
            return;
        }
        await KeepSourceAsync(move, $"peer '{move.Peer}' recorded the move as {answer.Outcome} ({answer.Detail})", ct);
    }

    private async Task ResolveDestinationAsync(MigrationRow move, bool keepHere, CancellationToken ct)
    {
        if (move.Phase is MigrationPhase.Prepare or MigrationPhase.Perform)
        {
            // Short of Finish the source never deletes its copy: dropping this side is safe without asking.
            // The source learns it by asking this host, which answers Failed from now on.
            Drop(move.TicketHash, $"this host stopped at {move.Phase}, before Finish: the source keeps its copy");
            return;
        }
        var (_, answer, why) = await AskAsync(move, ct);
        if (answer is null && why is not null)
        {
            if (!keepHere) throw Undecided(move, why);
            Settle(move, MigrationOutcome.Succeeded, $"the operator kept this copy (--keep-here): {why}");
            return;
        }
        if (answer is null) throw Undecided(move, $"peer '{move.Peer}' has no record of the move");
        if (answer.Outcome == MigrationOutcome.Succeeded || answer.Phase == MigrationPhase.Confirm)
        {
            // The source is deleting its copy or has: this one is the workspace now (as its Confirm would say).
            migrations.SetPhase(move.TicketHash, MigrationPhase.Confirm, Now);
            Settle(move, MigrationOutcome.Succeeded, $"peer '{move.Peer}' recorded {answer.Phase}{(answer.Outcome is null ? "" : $", {answer.Outcome}")}: its copy is deleted");
            return;
        }
        if (answer.Outcome is MigrationOutcome.Failed or MigrationOutcome.Refused)
        {
            // Only an operator's --keep-here on the source fails a move whose destination finished: its copy is the one.
            if (workspaces.FindById(move.WorkspaceId) is { } mine)
                await definitions.DeleteAsync(mine.Name, new Caller(mine.Owner, true), force: true, ct);
            Settle(move, MigrationOutcome.Failed, $"peer '{move.Peer}' kept its copy ({answer.Detail}); this host's is deleted");
            return;
        }
        // The source has not decided yet: it asks this host, sees Finish, deletes its copy and confirms.
        if (keepHere)
            throw WorkspacesException.Conflict($"peer '{move.Peer}' is reachable and still holds its copy at {answer.Phase}: let it settle (it confirms to this host)");
        throw Undecided(move, $"peer '{move.Peer}' is at {answer.Phase}; it settles by asking this host");
    }

    /// <summary>
    /// Drops what this host holds of a move that never finished here (at Prepare or Perform): the workspace's
    /// files and any record a crashed Finish left, the announcement; the source keeps the only copy.
    /// </summary>
    public PeerMigrationState Drop(string hash, string why)
    {
        var row = migrations.Find(hash) ?? throw WorkspacesException.NotFound($"no move with ticket {Core.Names.Quote(hash)} here");
        if (row.Outcome is not null) return State(hash);
        if (row.Role != MigrationPhase.DestinationRole || row.Phase is not (MigrationPhase.Prepare or MigrationPhase.Perform))
            throw WorkspacesException.Conflict($"the move (ticket {hash[..12]}) is at {row.Phase} here: only a destination short of Finish drops its side");
        // Perform checked that no workspace had this id before: one here now is this move's unfinished record.
        if (workspaces.FindById(row.WorkspaceId) is not null) workspaces.Delete(row.WorkspaceId);
        if (Directory.Exists(layout.Dir(row.WorkspaceId))) Directory.Delete(layout.Dir(row.WorkspaceId), recursive: true);
        transfers.Forget(hash);
        migrations.SetOutcome(hash, MigrationOutcome.Failed, why, Now);
        MigrationLog.Resolved(logger, row.Name, row.Peer, hash[..12], MigrationOutcome.Failed, $"dropped this side: {why}");
        return State(hash);
    }

    /// <summary>The peer's record: (channel, answer, null); (channel, null, null) when it has none (404); (.., null, why) when it cannot be asked.</summary>
    private async Task<(HttpClient? Http, PeerMigrationState? Answer, string? Why)> AskAsync(MigrationRow move, CancellationToken ct)
    {
        var peer = peers.Find(move.Peer);
        if (peer is null) return (null, null, $"'{move.Peer}' is no longer a peer of this host");
        var http = channel.For(peer.Address, peer.TlsFingerprint);
        try
        {
            var answer = await PeerCall.GetAsync(http, peer.Name, $"v1/peer/migrations/{move.TicketHash}", WorkspacesJson.Default.PeerMigrationState, ct);
            return (http, answer, null);
        }
        catch (WorkspacesException e) when (e.Status == 404)
        {
            return (http, null, null);
        }
        catch (WorkspacesException e)
        {
            return (http, null, $"peer '{peer.Name}' cannot be asked: {e.Message}");
        }
    }

    /// <summary>The destination holds the workspace: this host deletes its copy (Confirm), then tells it.</summary>
    private async Task DeleteSourceAsync(MigrationRow move, HttpClient http, PeerMigrationState answer, CancellationToken ct)
    {
        migrations.SetPhase(move.TicketHash, MigrationPhase.Confirm, Now);
        if (workspaces.FindById(move.WorkspaceId) is { } mine)
        {
            // Out of MigrationUnknown first: a delete (even forced) refuses it.
            recorder.SetState(mine, WorkspaceStates.Stopped, $"moved to '{move.Peer}': deleting this copy", null, mine.Accelerator);
            await definitions.DeleteAsync(mine.Name, new Caller(mine.Owner, true), force: true, ct);
        }
        if (answer.Outcome is null) await ConfirmAsync(http, move, ct);
        Settle(move, MigrationOutcome.Succeeded, $"peer '{move.Peer}' finished the move: this host's copy is deleted");
    }

    /// <summary>This host's copy is the only one: out of MigrationUnknown, and running again when the move had stopped it running.</summary>
    private async Task KeepSourceAsync(MigrationRow move, string why, CancellationToken ct, string outcome = MigrationOutcome.Failed)
    {
        Settle(move, outcome, why);
        if (workspaces.FindById(move.WorkspaceId) is not { } mine) return;
        bool saved = savedStates.Find(mine.Id) is not null;
        if (move.Mode == MigrationModes.Live && mine.State == WorkspaceStates.MigrationUnknown)
        {
            // A live move leaves the source's QEMU paused, not stopped: it goes on where it stood (LiveCopyTests kills a source there).
            recorder.SetState(mine, WorkspaceStates.Paused, $"the move to '{move.Peer}' did not happen: {why}", mine.Pid, mine.Accelerator);
            await transitions.ActAsync(mine.Name, WorkspaceAction.Resume, new Caller(mine.Owner, true), new ActionOptions(), ct);
            return;
        }
        if (mine.State == WorkspaceStates.MigrationUnknown)
            recorder.SetState(mine, saved ? WorkspaceStates.Saved : WorkspaceStates.Stopped, $"the move to '{move.Peer}' did not happen: {why}", null, mine.Accelerator);
        // A stateful move saved a running guest to move it: it continues here, where it was.
        if (move.Mode == MigrationModes.Stateful && saved && mine.State == WorkspaceStates.Saved)
            await transitions.ActAsync(mine.Name, WorkspaceAction.Start, new Caller(mine.Owner, true), new ActionOptions(), ct);
    }

    /// <summary>Tells the destination its copy is the one (or, for a copy, that the source is done with the move).</summary>
    private static Task ConfirmAsync(HttpClient http, MigrationRow move, CancellationToken ct) =>
        PeerCall.PostAsync(http, move.Peer, $"v1/peer/migrations/{move.TicketHash}/confirm", new PeerMigrationState(move.TicketHash, MigrationPhase.Confirm, null, null),
            WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, ct);

    private void Settle(MigrationRow move, string outcome, string why)
    {
        migrations.SetOutcome(move.TicketHash, outcome, why, Now);
        MigrationLog.Resolved(logger, move.Name, move.Peer, move.TicketHash[..12], outcome, why);
    }

    private static WorkspacesException Undecided(MigrationRow move, string why) =>
        new(503, "Move undecided", $"the move of '{move.Name}' (ticket {move.TicketHash[..12]}, {move.Role} at {move.Phase}) stays open: {why}");

    private PeerMigrationState State(string hash)
    {
        var row = migrations.Find(hash)!;
        return new PeerMigrationState(row.TicketHash, row.Phase, row.Outcome, row.Detail);
    }

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
