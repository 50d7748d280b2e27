using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The source's side of a live move, once the destination admitted the ticket, all under the workspace's
/// lock (nothing starts, stops or deletes it meanwhile). Prepare: the destination launches its incoming
/// guest and hands back stream ids. Perform: LiveTransfer mirrors the overlay and migrates RAM through the
/// tunnels; the guest runs here until the switch-over. Finish: the destination runs its copy. Confirm:
/// this host deletes its own (QEMU, overlay, record, rules, DHCP entry). Each phase is recorded before it acts.
/// Failures: before the switch-over the guest never stopped here; the destination is told to kill its
/// copy and the move is Failed. After it, the guest stays paused here: if the destination says it killed
/// its copy, this one runs again (Failed); if it cannot say, the move is Unknown and the workspace
/// MigrationUnknown: zero running copies, never two, until `ws move --recover` settles it.
/// A live copy (--keep-source) runs the same Prepare and Perform, then goes on in LiveMove.Copy.cs: the source
/// continues instead of being deleted.
/// </summary>
public sealed partial class LiveMove(
    MigrationRepository migrations,
    WorkspaceRepository workspaces,
    WorkspaceLocks locks,
    WorkspaceLayout layout,
    WorkspaceDefinitions definitions,
    WorkspaceRecorder recorder,
    GuestSupervisor guests,
    LiveTransfer live,
    TimeProvider clock,
    ILogger<LiveMove> logger)
{
    public async Task RunAsync(WorkspaceRow workspace, MigrationTicket ticket, string document, string hash, PeerRow peer, HttpClient http,
        IProgress<LiveMigrationProgress>? progress, CancellationToken ct)
    {
        using (await locks.TakeAsync(workspace.Id, ct))
        {
            var row = workspaces.FindById(workspace.Id);
            if (row is null || !WorkspaceStateMachine.IsActive(row.State) || !guests.TryGet(row.Id, out var guest))
                throw Failed(hash, WorkspacesException.Conflict($"workspace '{workspace.Name}' is {row?.State ?? "gone"}: a live move needs it running or paused"));

            bool wasRunning = row.State == WorkspaceStates.Running;
            PeerLiveStreams streams;
            try
            {
                streams = await PeerCall.PostAsync(http, peer.Name, $"v1/peer/migrations/{hash}/live", new PeerLivePrepare(document),
                    WorkspacesJson.Default.PeerLivePrepare, WorkspacesJson.Default.PeerLiveStreams, ct);
            }
            catch (Exception e)
            {
                // The destination cleans up its own failed Prepare; one that never answered is told to.
                await AbortAsync(http, peer.Name, hash);
                throw Failed(hash, e);
            }

            MigrationStats stats;
            try
            {
                migrations.SetPhase(hash, MigrationPhase.Perform, Now);
                MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Perform);
                MigrationLog.Phase(logger, row.Name, hash[..12], MigrationPhase.Perform, $"mirroring the disk and migrating RAM to {peer.Name}");
                stats = await live.PerformAsync(guest, layout.Overlay(row.Id), layout.Guest(row.Id).Dir, peer.Address, peer.TlsFingerprint,
                    new LiveStreams(streams.NbdStream, streams.StateStream), progress, ct, socket => GuestFiles.GiveFile(row.GuestUid, socket));
            }
            catch (MigrationSwitchoverException e) when (ticket.IsCopy())
            {
                throw await CopyFailedAfterSwitchoverAsync(row, guest, hash, peer, http, wasRunning, e.Message);
            }
            catch (MigrationSwitchoverException e)
            {
                // The destination may or may not have everything: it decides, or nobody can yet.
                await SettleAfterSwitchoverAsync(row, guest, hash, peer, http, e.Message);
                throw;
            }
            catch (Exception e)
            {
                // Before the switch-over: the guest never stopped here (MigrateLiveAsync undid the mirror and migration).
                LiveMoveLog.FailedBeforeSwitchover(logger, row.Name, peer.Name, hash[..12], e.Message);
                await AbortAsync(http, peer.Name, hash);
                throw Failed(hash, new WorkspacesException(502, "Move failed",
                    $"the live move of '{row.Name}' to '{peer.Name}' failed before the switch-over ({e.Message}); it runs on here"));
            }
            LiveMoveLog.Migrated(logger, row.Name, peer.Name, hash[..12], stats.DowntimeMs, stats.TotalTimeMs, stats.RamTransferred >> 20);
            if (ticket.IsCopy())
            {
                await FinishCopyAsync(row, guest, ticket, hash, peer, http, wasRunning, ct);
                return;
            }

            try
            {
                MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Finish);
                await PeerCall.PostAsync(http, peer.Name, $"v1/peer/migrations/{hash}/finish", new PeerMigrationState(hash, MigrationPhase.Finish, null, null),
                    WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                if (!await SettleAfterSwitchoverAsync(row, guest, hash, peer, http, e.Message)) throw;
            }

            // Confirm, still under the lock: from the switch-over to the deletion nothing can run this copy again.
            migrations.SetPhase(hash, MigrationPhase.Confirm, Now);
            MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Confirm);
            await definitions.DeleteLockedAsync(row, CancellationToken.None);
        }
        await TellConfirmedAsync(http, peer.Name, hash);
        migrations.SetOutcome(hash, MigrationOutcome.Succeeded, $"moved live to '{peer.Name}'; this host's copy is deleted", Now);
        MigrationLog.Phase(logger, workspace.Name, hash[..12], MigrationPhase.Confirm, $"done: the workspace runs on {peer.Name} only");
    }

    /// <summary>Tells the destination its copy is settled (Confirm). Its copy runs either way: unheard, its row closes when it next asks (MigrationResolver).</summary>
    private static async Task TellConfirmedAsync(HttpClient http, string peer, string hash)
    {
        try
        {
            await PeerCall.PostAsync(http, peer, $"v1/peer/migrations/{hash}/confirm", new PeerMigrationState(hash, MigrationPhase.Confirm, null, null),
                WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, CancellationToken.None);
        }
        catch (WorkspacesException)
        {
        }
    }

    /// <summary>
    /// After the switch-over began and something failed: asks the destination where it stands. Finish with no
    /// outcome: its copy runs, go on to Confirm (true). Failed: it killed its copy, so this one runs again (throws
    /// Failed). Anything else, or no answer: Unknown, the guest stays paused here (throws).
    /// </summary>
    private async Task<bool> SettleAfterSwitchoverAsync(WorkspaceRow row, IGuest guest, string hash, PeerRow peer, HttpClient http, string why)
    {
        PeerMigrationState? there = null;
        try
        {
            MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Finish);
            there = await PeerCall.GetAsync(http, peer.Name, $"v1/peer/migrations/{hash}", WorkspacesJson.Default.PeerMigrationState, CancellationToken.None);
        }
        catch (WorkspacesException)
        {
            // Unreachable: below, as unknown.
        }
        if (there is { Phase: MigrationPhase.Finish or MigrationPhase.Confirm, Outcome: null or MigrationOutcome.Succeeded })
            return true;
        if (there is { Outcome: MigrationOutcome.Failed })
        {
            await guest.RunAsync(CancellationToken.None);
            recorder.SetState(row, WorkspaceStates.Running, $"the live move to '{peer.Name}' failed after the switch-over; it runs on here", row.Pid, row.Accelerator);
            LiveMoveLog.ResumedHere(logger, row.Name, peer.Name, hash[..12]);
            throw Failed(hash, new WorkspacesException(502, "Move failed",
                $"the live move of '{row.Name}' to '{peer.Name}' failed after the switch-over ({why}); '{peer.Name}' killed its copy and it runs on here"));
        }
        try { await guest.PauseAsync(CancellationToken.None); }
        catch (Exception e) when (e is HypervisorException or IOException or InvalidOperationException) { /* QEMU stopped it at the switch-over already */ }
        string detail = $"the live move to '{peer.Name}' (ticket {hash[..12]}) has an unknown outcome ({why}); the guest stays paused here. "
                        + $"Settle it with `ws move {row.Name} {peer.Name} --recover`";
        migrations.SetOutcome(hash, MigrationOutcome.Unknown, detail, Now);
        recorder.SetState(row, WorkspaceStates.MigrationUnknown, detail, row.Pid, row.Accelerator);
        LiveMoveLog.OutcomeUnknown(logger, row.Name, peer.Name, hash[..12], why);
        throw new WorkspacesException(504, "Move outcome unknown", detail);
    }

    /// <summary>Tells the destination to kill its incoming copy; unreachable, it gives it up by itself (LiveReceiver.FinishPatience).</summary>
    private static async Task AbortAsync(HttpClient http, string peer, string hash)
    {
        try
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await PeerCall.PostAsync(http, peer, $"v1/peer/migrations/{hash}/abort", new PeerMigrationState(hash, MigrationPhase.Perform, null, null),
                WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, patience.Token);
        }
        catch (Exception e) when (e is WorkspacesException or OperationCanceledException)
        {
            // Nothing runs there before Finish: at worst its paused incoming copy waits out its patience.
        }
    }

    private Exception Failed(string hash, Exception e)
    {
        migrations.SetOutcome(hash, MigrationOutcome.Failed, e.Message, Now);
        return e;
    }

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
