using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The source's side of a move: picks the mode, runs Begin (TicketIssuer) and Prepare (the destination's
/// TicketAdmission, over the pinned mTLS channel), and records every refusal with the ticket's hash.
/// A refusal by the destination keeps its status and detail, and a counter-offer its shape, so the
/// caller of `ws move` sees exactly why. A cold move then goes on in ColdTransfer (Perform, Finish,
/// Confirm); stateful and live transfers are not built yet: after an admitted Prepare they stop with 501
/// and both sides keep the ticket as spent.
/// </summary>
public sealed class MoveCoordinator(
    TicketIssuer issuer,
    PeerRepository peers,
    PeerChannel channel,
    MigrationRepository migrations,
    IEnumerable<ILiveTransfer> liveTransfers,
    ColdTransfer cold,
    TimeProvider clock)
{
    public async Task<PeerMigrationAccepted> MoveAsync(WorkspaceRow workspace, MoveRequest request, CancellationToken ct)
    {
        string mode = ChooseMode(workspace, request);
        if (request.Name is not null && !request.KeepSource)
            throw WorkspacesException.BadRequest("--name names a copy: it goes with --keep-source (a move keeps the workspace's name)");
        if (request.KeepSource && mode == MigrationModes.Live)
            throw new WorkspacesException(501, "Not implemented", "a live copy (--keep-source --mode live) is not built; copy it cold or stateful");
        if (request.Name is not null) Core.Names.CheckWorkspace(request.Name);
        if (request.Recover) throw NotBuilt("--recover (resolving a move whose outcome is unknown)");
        var peer = peers.Find(request.Peer) ?? throw WorkspacesException.NotFound($"no peer named {Core.Names.Quote(request.Peer)} (see `ws peer list`)");

        var (ticket, document, hash) = issuer.Begin(workspace, peer.Name, mode, request.KeepSource ? request.Name ?? workspace.Name : null);
        long now = clock.GetUtcNow().ToUnixTimeMilliseconds();
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
            await cold.RunAsync(workspace, ticket, document, hash, peer.Name, http, ct);
            return new PeerMigrationAccepted(hash, MigrationPhase.Confirm);
        }
        string detail = $"peer '{peer.Name}' admitted the ticket {hash[..12]}; the {mode} transfer (Perform, Finish, Confirm) is not built yet";
        migrations.SetOutcome(hash, MigrationOutcome.Failed, detail, now);
        await AbortAsync(http, peer.Name, hash, ct);
        throw NotBuilt(detail);
    }

    /// <summary>Closes the destination's side of a move that will not go on (before Perform nothing moved); a failure here is left to MigrationResolver's next start.</summary>
    private static async Task AbortAsync(HttpClient http, string peer, string hash, CancellationToken ct)
    {
        try
        {
            await PeerCall.PostAsync(http, peer, $"v1/peer/migrations/{hash}/abort", new PeerMigrationState(hash, MigrationPhase.Begin, null, null),
                WorkspacesJson.Default.PeerMigrationState, WorkspacesJson.Default.PeerMigrationState, ct);
        }
        catch (WorkspacesException)
        {
            // The destination keeps an admitted, spent ticket at Prepare: it can never be replayed, and nothing moved.
        }
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
