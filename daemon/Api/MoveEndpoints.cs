using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>/v1/workspaces/{name}/move on the local socket: move a workspace to a peer (admins: it acts on a peer).</summary>
public static class MoveEndpoints
{
    public static void MapMoveEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/workspaces/{name}/move", async (HttpContext context, string name, WorkspaceAccess access, MoveCoordinator moves, MoveRecovery recovery, MigrationResolver resolver) =>
        {
            context.RequireAdmin("move workspaces to peers");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.MoveRequest);
            if (string.IsNullOrEmpty(request.Peer)) throw WorkspacesException.BadRequest("say which peer to move to: {\"peer\": NAME}");
            if (request.Recover)
            {
                // `ws move NAME PEER --recover`: the open move of NAME with that peer, settled by asking it.
                var move = recovery.OpenMoveOf(name) is { } open && open.Peer == request.Peer ? open
                    : throw WorkspacesException.NotFound($"no move of a workspace named {Core.Names.Quote(name)} with peer '{request.Peer}' is open on this host");
                var settled = await recovery.ResolveAsync(move, keepHere: false, context.RequestAborted);
                return Results.Json(new PeerMigrationAccepted(settled.TicketHash, settled.Phase), WorkspacesJson.Default.PeerMigrationAccepted);
            }
            var workspace = access.Get(name, context.Caller());
            PeerMigrationAccepted accepted;
            try
            {
                accepted = await moves.MoveAsync(workspace, request, context.RequestAborted);
            }
            catch (Exception)
            {
                // A move that ended without an outcome (a cut link, a peer gone mid-call) is settled in the background.
                if (recovery.OpenMoveOf(name) is { Role: MigrationPhase.SourceRole } open) resolver.Track(open);
                throw;
            }
            return Results.Json(accepted, WorkspacesJson.Default.PeerMigrationAccepted);
        }).WithSummary("move a workspace to a peer: signed ticket, the peer's checks before anything moves (admins)")
          .Body<MoveRequest>().Produces<PeerMigrationAccepted>();

        v1.MapPost("/workspaces/{name}/move/recover", async (HttpContext context, string name, MoveRecovery recovery) =>
        {
            context.RequireAdmin("settle moves with peers");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.MoveRecoverRequest);
            var move = recovery.OpenMoveOf(name)
                ?? throw WorkspacesException.NotFound($"no move of a workspace named {Core.Names.Quote(name)} is open on this host");
            return Results.Json(await recovery.ResolveAsync(move, request.KeepHere, context.RequestAborted), WorkspacesJson.Default.PeerMigrationState);
        }).WithSummary("settle a half-done move now by asking the peer; keepHere: the peer is gone for good, this host's copy is the one (admins)")
          .Body<MoveRecoverRequest>().Produces<PeerMigrationState>();
    }
}
