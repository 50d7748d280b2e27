using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The source's side of a move: picks the mode, runs Begin (TicketIssuer) and Prepare (the destination's
/// TicketAdmission, over the pinned mTLS channel), and records every refusal with the ticket's hash.
/// A refusal by the destination keeps its status and detail, and a counter-offer its shape, so the
/// caller of `ws move` sees exactly why. Perform, Finish and Confirm (the overlay and state transfer,
/// the switch of the record, the source's clean-up) are not built yet: after an admitted Prepare the
/// move stops with 501 and both sides keep the ticket as spent.
/// </summary>
public sealed class MoveCoordinator(
    TicketIssuer issuer,
    PeerRepository peers,
    PeerChannel channel,
    MigrationRepository migrations,
    IEnumerable<ILiveTransfer> liveTransfers,
    TimeProvider clock)
{
    public async Task<PeerMigrationAccepted> MoveAsync(WorkspaceRow workspace, MoveRequest request, CancellationToken ct)
    {
        string mode = ChooseMode(workspace, request);
        if (request.KeepSource) throw NotBuilt("--keep-source (a copy with a new identity on the peer)");
        if (request.Recover) throw NotBuilt("--recover (resolving a move whose outcome is unknown)");
        var peer = peers.Find(request.Peer) ?? throw WorkspacesException.NotFound($"no peer named {Core.Names.Quote(request.Peer)} (see `ws peer list`)");

        var (_, document, hash) = issuer.Begin(workspace, peer.Name, mode);
        long now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        PeerMigrationAccepted accepted;
        try
        {
            accepted = await PeerCall.PostAsync(channel.For(peer.Address, peer.TlsFingerprint), peer.Name, "v1/peer/migrations",
                new PeerMigrationOffer(document), WorkspacesJson.Default.PeerMigrationOffer, WorkspacesJson.Default.PeerMigrationAccepted, ct);
        }
        catch (WorkspacesException e)
        {
            migrations.SetOutcome(hash, MigrationOutcome.Refused, e.Message, clock.GetUtcNow().ToUnixTimeMilliseconds());
            throw;
        }
        if (accepted.TicketHash != hash)
            throw new WorkspacesException(502, "Peer error", $"peer '{peer.Name}' admitted ticket {accepted.TicketHash[..12]}, not the one sent ({hash[..12]})");
        string detail = $"peer '{peer.Name}' admitted the ticket {hash[..12]}; the {mode} transfer (Perform, Finish, Confirm) is not built yet";
        migrations.SetOutcome(hash, MigrationOutcome.Failed, detail, now);
        throw NotBuilt(detail);
    }

    private string ChooseMode(WorkspaceRow workspace, MoveRequest request)
    {
        bool running = workspace.State is WorkspaceStates.Running or WorkspaceStates.Paused;
        // The issue's default for a running workspace is live; until the live engine is merged it is stateful.
        string mode = request.Mode ?? (running ? MigrationModes.Stateful : MigrationModes.Cold);
        if (!MigrationModes.All.Contains(mode))
            throw WorkspacesException.BadRequest($"mode {Core.Names.Quote(mode)} is none of {string.Join(", ", MigrationModes.All)}");
        if (mode == MigrationModes.Live && !liveTransfers.Any())
            throw new WorkspacesException(501, "Not implemented", "live moves need the live-transfer engine");
        if (mode == MigrationModes.Cold && running)
            throw WorkspacesException.Conflict($"workspace '{workspace.Name}' is {workspace.State}: a cold move needs it stopped (ws stop), or use --mode stateful");
        if (mode != MigrationModes.Cold && !running)
            throw WorkspacesException.Conflict($"workspace '{workspace.Name}' is {workspace.State}: a {mode} move needs it running or paused");
        return mode;
    }

    private static WorkspacesException NotBuilt(string what) => new(501, "Not implemented", $"{what}: not built on this branch yet");
}
