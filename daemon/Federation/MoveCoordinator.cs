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
/// caller of `ws move` sees exactly why. A cold or stateful move (or copy) then goes on in ColdTransfer, a live one
/// (the default for a running or paused workspace, copied or moved, sealed or not) in LiveMove.
/// </summary>
public sealed class MoveCoordinator(
    TicketIssuer issuer,
    PeerRepository peers,
    PeerChannel channel,
    MigrationRepository migrations,
    ColdTransfer cold,
    LiveMove live,
    TimeProvider clock)
{
    public async Task<PeerMigrationAccepted> MoveAsync(WorkspaceRow workspace, MoveRequest request, CancellationToken ct, IProgress<LiveMigrationProgress>? progress = null)
    {
        string mode = ChooseMode(workspace, request);
        if (request.Name is not null && !request.KeepSource)
            throw WorkspacesException.BadRequest("--name names a copy: it goes with --keep-source (a move keeps the workspace's name)");
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
        await live.RunAsync(workspace, ticket, document, hash, peer, http, progress, ct);
        return new PeerMigrationAccepted(hash, MigrationPhase.Confirm);
    }

    private string ChooseMode(WorkspaceRow workspace, MoveRequest request)
    {
        bool running = workspace.State is WorkspaceStates.Running or WorkspaceStates.Paused;
        // Live for a running or paused workspace, whether it moves or is copied (--keep-source), sealed or not; cold when stopped.
        string mode = request.Mode ?? (running ? MigrationModes.Live : MigrationModes.Cold);
        if (!MigrationModes.All.Contains(mode))
            throw WorkspacesException.BadRequest($"mode {Core.Names.Quote(mode)} is none of {string.Join(", ", MigrationModes.All)}");
        if (mode == MigrationModes.Cold && running)
            throw WorkspacesException.Conflict($"workspace '{workspace.Name}' is {workspace.State}: a cold move needs it stopped (ws stop), or use --mode stateful");
        if (mode != MigrationModes.Cold && !running)
            throw WorkspacesException.Conflict($"workspace '{workspace.Name}' is {workspace.State}: a {mode} move needs it running or paused");
        return mode;
    }
}
