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
        v1.MapPost("/workspaces/{name}/move", async (HttpContext context, string name, WorkspaceAccess access, MoveCoordinator moves) =>
        {
            context.RequireAdmin("move workspaces to peers");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.MoveRequest);
            if (string.IsNullOrEmpty(request.Peer)) throw WorkspacesException.BadRequest("say which peer to move to: {\"peer\": NAME}");
            var workspace = access.Get(name, context.Caller());
            var accepted = await moves.MoveAsync(workspace, request, context.RequestAborted);
            return Results.Json(accepted, WorkspacesJson.Default.PeerMigrationAccepted);
        }).WithSummary("move a workspace to a peer: signed ticket, the peer's checks before anything moves (admins)")
          .Body<MoveRequest>().Produces<PeerMigrationAccepted>();
    }
}
