using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>
/// /v1/workspaces/{name}/move on the local socket: move a workspace to a peer (admins: it acts on a peer).
/// The move runs as an operation (kind "move", the workspace's name as target) whose progress GET
/// /v1/operations shows while the call waits for the end; the answer is the move's own (its status and
/// detail on failure). A client that leaves does not stop the move half-way: it runs to its end.
/// </summary>
public static class MoveEndpoints
{
    public const string OperationHeader = "Operation-Id";

    public static void MapMoveEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/workspaces/{name}/move", async (HttpContext context, string name, WorkspaceAccess access, MoveCoordinator moves, OperationRegistry operations) =>
        {
            context.RequireAdmin("move workspaces to peers");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.MoveRequest);
            if (string.IsNullOrEmpty(request.Peer)) throw WorkspacesException.BadRequest("say which peer to move to: {\"peer\": NAME}");
            var caller = context.Caller();
            var workspace = access.Get(name, caller);
            var result = new TaskCompletionSource<PeerMigrationAccepted>(TaskCreationOptions.RunContinuationsAsynchronously);
            var op = operations.Start("move", workspace.Name, caller, async (op, ct) =>
            {
                try { result.TrySetResult(await moves.MoveAsync(workspace, request, ct, new MoveProgress(op, request.Peer))); }
                catch (Exception e) { result.TrySetException(e); throw; }
            });
            context.Response.Headers[OperationHeader] = op.Id;
            return Results.Json(await result.Task, WorkspacesJson.Default.PeerMigrationAccepted); // its failure as the move threw it
        }).WithSummary("move a workspace to a peer: signed ticket, the peer's checks before anything moves (admins); an operation with progress meanwhile")
          .Body<MoveRequest>().Produces<PeerMigrationAccepted>();
    }
}
