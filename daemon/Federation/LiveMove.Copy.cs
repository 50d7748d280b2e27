using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

// A live copy (`ws move --keep-source`, running): Prepare and Perform as for a move, then the source does not go.
// Exactly-one-copy does not apply: the peer's copy has its own id, name, MAC and address (and vmgenid GUID), so
// the source continues at once (QEMU's `cont` from postmigrate reactivates its disk, which the mirror never left)
// and the peer finishes its copy meanwhile. Whatever fails after the switch-over, the source runs on; the peer
// is told to drop a copy it has not finished (one that never hears gives it up by itself, LiveReceiver.FinishPatience).
public sealed partial class LiveMove
{
    private async Task FinishCopyAsync(WorkspaceRow row, IGuest guest, MigrationTicket ticket, string hash, PeerRow peer, HttpClient http,
        bool wasRunning, CancellationToken ct)
    {
        await ContinueSourceAsync(guest, wasRunning);
        try
        {
            MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Finish);
            await PeerCall.PostAsync(http, peer.Name, $"v1/peer/migrations/{hash}/finish", new PeerMigrationState(hash, MigrationPhase.Finish, null, null),
                WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Its answer may be what was lost: ask where it stands before giving the copy up.
            if (!await PeerFinishedAsync(hash, peer, http))
            {
                await AbortAsync(http, peer.Name, hash);
                throw Failed(hash, new WorkspacesException(502, "Copy failed",
                    $"the live copy of '{row.Name}' to '{peer.Name}' failed as the peer finished it ({e.Message}); the peer was told to drop it; '{row.Name}' runs on here"));
            }
        }
        migrations.SetPhase(hash, MigrationPhase.Confirm, Now);
        MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Confirm);
        await TellConfirmedAsync(http, peer.Name, hash);
        migrations.SetOutcome(hash, MigrationOutcome.Succeeded, $"copied live to '{peer.Name}' as '{ticket.ArrivingName()}'; this host keeps its own", Now);
        MigrationLog.Phase(logger, row.Name, hash[..12], MigrationPhase.Confirm, $"done: copied live to {peer.Name} as {ticket.ArrivingName()}; it runs on here");
    }

    /// <summary>After the switch-over began and failed: the source goes on; the peer drops its copy, which never ran.</summary>
    private async Task<Exception> CopyFailedAfterSwitchoverAsync(WorkspaceRow row, IGuest guest, string hash, PeerRow peer, HttpClient http, bool wasRunning, string why)
    {
        await AbortAsync(http, peer.Name, hash);
        await ContinueSourceAsync(guest, wasRunning);
        LiveMoveLog.CopyFailed(logger, row.Name, peer.Name, hash[..12], why);
        return Failed(hash, new WorkspacesException(502, "Copy failed",
            $"the live copy of '{row.Name}' to '{peer.Name}' failed after the switch-over ({why}); the peer was told to drop it; '{row.Name}' runs on here"));
    }

    private async Task<bool> PeerFinishedAsync(string hash, PeerRow peer, HttpClient http)
    {
        try
        {
            var there = await PeerCall.GetAsync(http, peer.Name, $"v1/peer/migrations/{hash}", WorkspacesJson.Default.PeerMigrationState, CancellationToken.None);
            return there is { Phase: MigrationPhase.Finish or MigrationPhase.Confirm, Outcome: null or MigrationOutcome.Succeeded };
        }
        catch (WorkspacesException)
        {
            return false;
        }
    }

    /// <summary>QEMU stopped the source at the switch-over: it runs again if it ran (a paused one stays paused; resume works from there).</summary>
    private static async Task ContinueSourceAsync(IGuest guest, bool wasRunning)
    {
        if (wasRunning) await guest.RunAsync(CancellationToken.None);
    }
}
