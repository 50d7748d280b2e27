using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>
/// /v1/peer/migrations on the peer listener: a source hands this host a signed migration ticket
/// (Prepare). Only a pinned peer reaches it (PeerGate), and the ticket must be signed by that same
/// peer's key; every check runs here, before the source sends any byte of the workspace.
/// </summary>
public static class PeerMigrationEndpoints
{
    public static void MapPeerMigrationEndpoints(this RouteGroupBuilder peer)
    {
        peer.MapPost("/migrations", async (HttpContext context, TicketAdmission admission) =>
        {
            string caller = PeerGate.PeerName(context);
            var offer = await context.Request.ReadJsonAsync(WorkspacesJson.Default.PeerMigrationOffer);
            var (_, hash) = admission.Admit(offer.Ticket, caller);
            return Results.Json(new PeerMigrationAccepted(hash, MigrationPhase.Prepare), WorkspacesJson.Default.PeerMigrationAccepted);
        }).WithSummary("peer API: offer a signed migration ticket; every check runs before anything moves")
          .Body<PeerMigrationOffer>().Produces<PeerMigrationAccepted>();

        peer.MapGet("/migrations/{hash}", (HttpContext context, string hash, MigrationRepository migrations) =>
        {
            var row = OwnRow(context, hash, migrations);
            return Results.Json(new PeerMigrationState(row.TicketHash, row.Phase, row.Outcome, row.Detail), WorkspacesJson.Default.PeerMigrationState);
        }).WithSummary("peer API: where this host stands in a move the calling peer is part of").Produces<PeerMigrationState>();

        peer.MapPost("/migrations/{hash}/abort", async (HttpContext context, string hash, MigrationRepository migrations, LiveReceiver live, MoveRecovery recovery) =>
        {
            var row = OwnRow(context, hash, migrations);
            // A live move's incoming guest is killed (and the move recorded Failed) before the answer.
            if (row.Outcome is null && await live.AbortAsync(row.TicketHash)) row = OwnRow(context, hash, migrations);
            // Short of Finish this host never held a whole copy: dropping its side is always safe (a destination at Finish refuses).
            string why = row.Phase == MigrationPhase.Prepare ? "aborted by the source before Perform" : $"aborted by the source at {row.Phase}: it keeps its copy";
            return Results.Json(recovery.Drop(row.TicketHash, why), WorkspacesJson.Default.PeerMigrationState);
        }).WithSummary("peer API: the source closes a move the destination never finished; the destination drops what it received")
          .Body<PeerMigrationState>().Produces<PeerMigrationState>();
        peer.MapPost("/migrations/{hash}/perform", async (HttpContext context, string hash, MoveReceiver receiver) =>
        {
            var perform = await context.Request.ReadJsonAsync(WorkspacesJson.Default.PeerMigrationPerform);
            var state = await receiver.PerformAsync(hash, PeerGate.PeerName(context), perform, context.RequestAborted);
            return Results.Json(state, WorkspacesJson.Default.PeerMigrationState);
        }).WithSummary("peer API: Perform of an admitted cold move: the ticket again and the overlay's hash; the image chain is pulled from the caller")
          .Body<PeerMigrationPerform>().Produces<PeerMigrationState>();

        peer.MapPut("/migrations/{hash}/overlay", async (HttpContext context, string hash, MoveReceiver receiver) =>
        {
            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = null; // a disk, not JSON: streamed to a staging file and checked by hash
            var state = await receiver.ReceiveOverlayAsync(hash, PeerGate.PeerName(context), context.Request.Body, context.RequestAborted);
            return Results.Json(state, WorkspacesJson.Default.PeerMigrationState);
        }).WithSummary("peer API: the moved workspace's overlay (octet stream, checked against the hash Perform announced); Finish makes its record")
          .Produces<PeerMigrationState>();

        peer.MapPut("/migrations/{hash}/state", async (HttpContext context, string hash, MoveReceiver receiver) =>
        {
            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = null; // RAM and device state, not JSON: streamed to a staging file and checked by hash
            var state = await receiver.ReceiveStateAsync(hash, PeerGate.PeerName(context), context.Request.Body, context.RequestAborted);
            return Results.Json(state, WorkspacesJson.Default.PeerMigrationState);
        }).WithSummary("peer API: a stateful move's saved state (octet stream, checked against the hash Perform announced), before its overlay")
          .Produces<PeerMigrationState>();

        peer.MapPost("/migrations/{hash}/live", async (HttpContext context, string hash, LiveReceiver receiver) =>
        {
            var prepare = await context.Request.ReadJsonAsync(WorkspacesJson.Default.PeerLivePrepare);
            var streams = await receiver.PrepareAsync(hash, PeerGate.PeerName(context), prepare, context.RequestAborted);
            return Results.Json(streams, WorkspacesJson.Default.PeerLiveStreams);
        }).WithSummary("peer API: Prepare of an admitted live move: the incoming guest is launched here; answers the stream ids for its disk and state")
          .Body<PeerLivePrepare>().Produces<PeerLiveStreams>();

        peer.MapPost("/migrations/{hash}/finish", async (HttpContext context, string hash, LiveReceiver receiver) =>
            Results.Json(await receiver.FinishAsync(hash, PeerGate.PeerName(context), context.RequestAborted), WorkspacesJson.Default.PeerMigrationState))
          .WithSummary("peer API: Finish of a live move whose switch-over completed: the guest runs here")
          .Body<PeerMigrationState>().Produces<PeerMigrationState>();

        peer.MapPost("/migrations/{hash}/confirm", (HttpContext context, string hash, MoveReceiver receiver) =>
            Results.Json(receiver.Confirm(hash, PeerGate.PeerName(context)), WorkspacesJson.Default.PeerMigrationState))
          .WithSummary("peer API: the source deleted its copy; the move is done").Produces<PeerMigrationState>();
    }

    /// <summary>A peer only learns about moves it is part of: any other hash is simply not found.</summary>
    private static MigrationRow OwnRow(HttpContext context, string hash, MigrationRepository migrations)
    {
        string caller = PeerGate.PeerName(context);
        var row = migrations.Find(hash);
        if (row is null || row.Peer != caller) throw WorkspacesException.NotFound($"no move with ticket {Core.Names.Quote(hash)} and peer '{caller}' here");
        return row;
    }
}
