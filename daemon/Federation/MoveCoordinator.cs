using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The source's side of a move: picks the mode, runs Begin (TicketIssuer) and Prepare (the destination's
/// TicketAdmission, over the pinned mTLS channel), and records every refusal with the ticket's hash.
/// A refusal by the destination keeps its status and detail, and a counter-offer its shape, so the
/// caller of `ws move` sees exactly why. A cold or stateful move then goes on in ColdTransfer, a live one
/// (the default for a running or paused workspace) in LiveMove.
/// </summary>
public sealed class MoveCoordinator(
    TicketIssuer issuer,
    PeerRepository peers,
    PeerChannel channel,
    MigrationRepository migrations,
    ColdTransfer cold,
    LiveMove live,
    ImageRepository imageRows,
    TimeProvider clock)
{
    public async Task<PeerMigrationAccepted> MoveAsync(WorkspaceRow workspace, MoveRequest request, CancellationToken ct, IProgress<LiveMigrationProgress>? progress = null)
    {
        string mode = ChooseMode(workspace, request);
        if (request.Name is not null && !request.KeepSource)
            throw WorkspacesException.BadRequest("--name names a copy: it goes with --keep-source (a move keeps the workspace's name)");
        if (request.KeepSource && mode == MigrationModes.Live)
            throw new WorkspacesException(501, "Not implemented", "a live copy (--keep-source --mode live) is not built; copy it cold or stateful");
        if (request.Name is not null) Core.Names.CheckWorkspace(request.Name);
        var peer = peers.Find(request.Peer) ?? throw WorkspacesException.NotFound($"no peer named {Core.Names.Quote(request.Peer)} (see `ws peer list`)");

        var (ticket, document, hash) = issuer.Begin(workspace, peer.Name, mode, request.KeepSource ? request.Name ?? workspace.Name : null);
        var http = channel.For(peer.Address, peer.TlsFingerprint);
        PeerMigrationAccepted accepted;
        try
        {
            accepted = await PeerCall.PostAsync(http, peer.Name, "v1/peer/migrations",
                new PeerMigrationOffer(document), WorkspacesJson.Default.PeerMigrationOffer, WorkspacesJson.Default.PeerMigrationAccepted, ct);
        }
        catch (WorkspacesException e)
        {
            migrations.SetOutcome(hash, MigrationOutcome.Refused, e.Message, clock.GetUtcNow().ToUnixTimeMilliseconds());
            throw;
        }
        // The source's end of Prepare: the destination holds an admitted ticket, the source has not recorded it yet.
        MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Prepare);
        if (accepted.TicketHash != hash)
            throw new WorkspacesException(502, "Peer error", $"peer '{peer.Name}' admitted ticket {accepted.TicketHash[..12]}, not the one sent ({hash[..12]})");
        if (mode is MigrationModes.Cold or MigrationModes.Stateful)
        {
            await cold.RunAsync(workspace, ticket, document, hash, peer.Name, http, progress, ct);
            return new PeerMigrationAccepted(hash, MigrationPhase.Confirm);
        }
        await live.RunAsync(workspace, document, hash, peer, http, progress, ct);
        return new PeerMigrationAccepted(hash, MigrationPhase.Confirm);
    }

    private string ChooseMode(WorkspaceRow workspace, MoveRequest request)
    {
        bool running = workspace.State is WorkspaceStates.Running or WorkspaceStates.Paused;
        bool sealedDisk = imageRows.Find(workspace.ImageId)?.Encrypted == true;
        // A running copy (--keep-source), or a running workspace on a sealed image, defaults to stateful: neither
        // a live copy nor a live arrival of a sealed disk (its new overlay needs the key first) is built.
        string mode = request.Mode ?? (!running ? MigrationModes.Cold : request.KeepSource || sealedDisk ? MigrationModes.Stateful : MigrationModes.Live);
        if (!MigrationModes.All.Contains(mode))
            throw WorkspacesException.BadRequest($"mode {Core.Names.Quote(mode)} is none of {string.Join(", ", MigrationModes.All)}");
        if (mode == MigrationModes.Live && sealedDisk)
            throw new WorkspacesException(501, "Not implemented", $"workspace '{workspace.Name}' is on a sealed image: a live move of it is not built; move it stateful (its default) or cold");
        if (mode == MigrationModes.Cold && running)
            throw WorkspacesException.Conflict($"workspace '{workspace.Name}' is {workspace.State}: a cold move needs it stopped (ws stop), or use --mode stateful");
        if (mode != MigrationModes.Cold && !running)
            throw WorkspacesException.Conflict($"workspace '{workspace.Name}' is {workspace.State}: a {mode} move needs it running or paused");
        return mode;
    }

    private static WorkspacesException NotBuilt(string what) => new(501, "Not implemented", $"{what}: not built on this branch yet");
}
