using Workspaces.Client;
using Workspaces.Daemon.Federation;
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
    }
}
