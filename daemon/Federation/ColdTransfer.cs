using System.Net.Http.Headers;
using System.Security.Cryptography;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
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
    MoveRecovery recovery,
    MigrationResolver resolver,
    TimeProvider clock,
    ILogger<ColdTransfer> logger)
{
    public async Task RunAsync(WorkspaceRow workspace, MigrationTicket ticket, string document, string hash, string peer, HttpClient http,
        IProgress<LiveMigrationProgress>? progress, CancellationToken ct)
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
                // Progress counts both files as one transfer: the saved state first, then the overlay.
                long total = (state?.Size ?? 0) + size;
                if (state is not null)
                    await SendFileAsync(http, peer, $"v1/peer/migrations/{hash}/state", await savedStates.VerifyAsync(now, state, ct),
                        sent => progress?.Report(new LiveMigrationProgress("state", sent, total, null)), ct);
                long before = state?.Size ?? 0;
                await SendFileAsync(http, peer, $"v1/peer/migrations/{hash}/overlay", overlay,
                    sent => progress?.Report(new LiveMigrationProgress("overlay", before + sent, total, null)), ct);
            }
        }
        catch (Exception e)
        {
            // Settled by the destination's record: it finished (its copy is the one and, unless this is a
            // copy, this one goes: the move succeeded after all), or not (it drops its side, this copy stays the only one and the error stands).
            if (!await SettleAsync(hash, e)) throw;
            return;
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

    private static async Task SendFileAsync(HttpClient http, string peer, string path, string local, Action<long> sent, CancellationToken ct)
    {
        var file = new FileStream(local, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        long length = file.Length;
        await using var body = new SentBytes(file, sent);
        var content = new StreamContent(body, 1 << 20);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = length;
        using var response = await PeerCall.SendAsync(http, peer, new HttpRequestMessage(HttpMethod.Put, path) { Content = content }, ct);
    }

    /// <summary>
    /// After a failure whose outcome this host cannot know alone: true when the destination had finished (the move
    /// succeeded, this copy is deleted), false when it had not (it dropped its side). When it cannot be asked, this
    /// copy is held in MigrationUnknown, the resolver keeps asking, and the caller hears 503.
    /// </summary>
    private async Task<bool> SettleAsync(string hash, Exception failure)
    {
        var move = migrations.Find(hash)!;
        try
        {
            var settled = await recovery.ResolveAsync(move, keepHere: false, CancellationToken.None);
            return settled.Outcome == MigrationOutcome.Succeeded;
        }
        catch (WorkspacesException undecided) when (undecided.Status == 503)
        {
            migrations.SetOutcome(hash, MigrationOutcome.Unknown, $"{failure.Message}; {undecided.Message}", Now);
            recovery.HoldSource(move, failure.Message);
            resolver.Track(move);
            throw new WorkspacesException(503, "Move outcome unknown",
                $"the move of '{move.Name}' to '{move.Peer}' failed at {move.Phase} ({failure.Message}) and the peer cannot say whether it finished: " +
                $"the workspace is MigrationUnknown here and is settled when the peer answers (or `ws move {move.Name} {move.Peer} --recover`)");
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
