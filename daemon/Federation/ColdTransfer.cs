using System.Net.Http.Headers;
using System.Security.Cryptography;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The source's Perform and Confirm of a cold or stateful move (a stateful one saves the guest first and
/// sends its saved state before the overlay), once the destination admitted the ticket. Perform:
/// the overlay's hash is announced with the ticket (the destination pulls the image chain from here by
/// hash meanwhile), then the overlay streams as one HTTPS body over the pinned channel; the destination
/// checks it and defines the workspace (Finish). Confirm: this host deletes its copy (QEMU, overlay,
/// record, rules, DHCP entry) and tells the destination, whose copy is then the only one. Every phase is
/// recorded before it acts. Until the destination has finished, a failure leaves the source's copy the
/// only one; after, the destination's.
/// </summary>
public sealed class ColdTransfer(
    MigrationRepository migrations,
    WorkspaceRepository workspaces,
    WorkspaceLocks locks,
    WorkspaceLayout layout,
    WorkspaceDefinitions definitions,
    WorkspaceTransitions transitions,
    SavedStates savedStates,
    TimeProvider clock,
    ILogger<ColdTransfer> logger)
{
    public async Task RunAsync(WorkspaceRow workspace, MigrationTicket ticket, string document, string hash, string peer, HttpClient http, CancellationToken ct)
    {
        bool stateful = ticket.Mode == MigrationModes.Stateful;
        try
        {
            // A stateful move is a cold move of a saved guest: `ws stop --stateful`'s path saves RAM and device state beside the overlay.
            if (stateful && workspace.State is not WorkspaceStates.Saved)
                await transitions.ActAsync(workspace.Name, WorkspaceAction.Stop, new Caller(workspace.Owner, true), new ActionOptions(Stateful: true), ct);
            using (await locks.TakeAsync(workspace.Id, ct))
            {
                // The lock keeps a start out from here to the deletion: the overlay cannot change under the copy.
                var now = workspaces.FindById(workspace.Id);
                if (now is null || (stateful ? now.State != WorkspaceStates.Saved : now.State is not (WorkspaceStates.Stopped or WorkspaceStates.Defined)))
                    throw WorkspacesException.Conflict($"workspace '{workspace.Name}' is {now?.State ?? "gone"}: a {ticket.Mode} move needs it {(stateful ? "saved" : "stopped")}");
                var state = stateful ? savedStates.Find(workspace.Id) ?? throw WorkspacesException.Conflict($"workspace '{workspace.Name}' has no saved state") : null;
                migrations.SetPhase(hash, MigrationPhase.Perform, Now);
                MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Perform);
                string overlay = layout.Overlay(workspace.Id);
                var (sha, size) = await HashAsync(overlay, ct);
                await PeerCall.PostAsync(http, peer, $"v1/peer/migrations/{hash}/perform", new PeerMigrationPerform(document, sha, size, state?.Sha256, state?.Size ?? 0, state?.Format, state?.MemoryMib ?? 0),
                    WorkspacesJson.Default.PeerMigrationPerform, WorkspacesJson.Default.PeerMigrationState, ct);
                MigrationLog.Phase(logger, workspace.Name, hash[..12], MigrationPhase.Perform, $"sending the overlay ({size} bytes, {sha[..12]}) to {peer}");
                if (state is not null)
                    await SendFileAsync(http, peer, $"v1/peer/migrations/{hash}/state", await savedStates.VerifyAsync(now, state, ct), ct);
                await SendFileAsync(http, peer, $"v1/peer/migrations/{hash}/overlay", overlay, ct);
            }
        }
        catch (Exception e) when (e is not MigrationLinkDroppedException)
        {
            // The destination never finished: this host's copy is still the only one.
            if (!await DestinationFinishedAsync(http, peer, hash))
            {
                migrations.SetOutcome(hash, MigrationOutcome.Failed, e.Message, Now);
                if (ticket.IsCopy()) await ResumeAsync(workspace, stateful);
                throw;
            }
        }
        if (ticket.IsCopy())
        {
            await ConfirmCopyAsync(workspace, ticket, hash, peer, http, stateful);
            return;
        }

        migrations.SetPhase(hash, MigrationPhase.Confirm, Now);
        MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Confirm);
        await definitions.DeleteAsync(workspace.Name, new Caller(workspace.Owner, true), force: true, CancellationToken.None);
        await PeerCall.PostAsync(http, peer, $"v1/peer/migrations/{hash}/confirm", new PeerMigrationState(hash, MigrationPhase.Confirm, null, null),
            WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, CancellationToken.None);
        migrations.SetOutcome(hash, MigrationOutcome.Succeeded, $"moved to '{peer}'; this host's copy is deleted", Now);
        MigrationLog.Phase(logger, workspace.Name, hash[..12], MigrationPhase.Confirm, $"done: the workspace is on {peer} only");
    }

    /// <summary>
    /// A copy (--keep-source): the source keeps its workspace. The destination's Confirm closes its row (the copy
    /// there is its own workspace now); a stateful copy's source then resumes from the state it was saved in.
    /// </summary>
    private async Task ConfirmCopyAsync(WorkspaceRow workspace, MigrationTicket ticket, string hash, string peer, HttpClient http, bool stateful)
    {
        migrations.SetPhase(hash, MigrationPhase.Confirm, Now);
        await PeerCall.PostAsync(http, peer, $"v1/peer/migrations/{hash}/confirm", new PeerMigrationState(hash, MigrationPhase.Confirm, null, null),
            WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, CancellationToken.None);
        migrations.SetOutcome(hash, MigrationOutcome.Succeeded, $"copied to '{peer}' as '{ticket.ArrivingName()}'; this host keeps its own", Now);
        MigrationLog.Phase(logger, workspace.Name, hash[..12], MigrationPhase.Confirm, $"done: copied to {peer} as {ticket.ArrivingName()}");
        await ResumeAsync(workspace, stateful);
    }

    /// <summary>A stateful copy saved the source to copy it: it runs on from that state, as it was (a cold copy's source was stopped and stays so).</summary>
    private async Task ResumeAsync(WorkspaceRow workspace, bool stateful)
    {
        if (!stateful || workspaces.FindById(workspace.Id)?.State != WorkspaceStates.Saved) return;
        await transitions.ActAsync(workspace.Name, WorkspaceAction.Start, new Caller(workspace.Owner, true), new ActionOptions(), CancellationToken.None);
    }

    private static async Task SendFileAsync(HttpClient http, string peer, string path, string local, CancellationToken ct)
    {
        await using var file = new FileStream(local, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var content = new StreamContent(file, 1 << 20);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = file.Length;
        using var response = await PeerCall.SendAsync(http, peer, new HttpRequestMessage(HttpMethod.Put, path) { Content = content }, ct);
    }

    /// <summary>Whether the destination reached Finish (it holds the workspace), asked after a failure whose outcome is not known here.</summary>
    private static async Task<bool> DestinationFinishedAsync(HttpClient http, string peer, string hash)
    {
        try
        {
            var state = await PeerCall.GetAsync(http, peer, $"v1/peer/migrations/{hash}", WorkspacesJson.Default.PeerMigrationState, CancellationToken.None);
            return state.Phase == MigrationPhase.Finish && state.Outcome is null;
        }
        catch (WorkspacesException)
        {
            return false; // not reachable: MigrationResolver asks again at the next start
        }
    }

    private static async Task<(string Sha256, long Size)> HashAsync(string path, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        byte[] digest = await SHA256.HashDataAsync(file, ct);
        return (Convert.ToHexStringLower(digest), file.Length);
    }

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
