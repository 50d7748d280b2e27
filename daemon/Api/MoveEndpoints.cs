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
        v1.MapPost("/workspaces/{name}/move", async (HttpContext context, string name, WorkspaceAccess access, MoveCoordinator moves, OperationRegistry operations,
            MoveRecovery recovery, MigrationResolver resolver) =>
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
            var caller = context.Caller();
            var workspace = access.Get(name, caller);
            var result = new TaskCompletionSource<PeerMigrationAccepted>(TaskCreationOptions.RunContinuationsAsynchronously);
            var op = operations.Start("move", workspace.Name, caller, async (op, ct) =>
            {
                try { result.TrySetResult(await moves.MoveAsync(workspace, request, ct, new MoveProgress(op, request.Peer))); }
                catch (Exception e)
                {
                    // A move that ended without an outcome (a cut link, a peer gone mid-call) is settled in the background.
                    if (recovery.OpenMoveFrom(workspace.Id) is { } open) resolver.Track(open);
                    result.TrySetException(e);
                    throw;
                }
            });
            context.Response.Headers[OperationHeader] = op.Id;
            return Results.Json(await result.Task, WorkspacesJson.Default.PeerMigrationAccepted); // its failure as the move threw it
        }).WithSummary("move a workspace to a peer: signed ticket, the peer's checks before anything moves (admins); an operation with progress meanwhile")
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
