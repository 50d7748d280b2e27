using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Operations;

namespace Workspaces.Daemon.Api;

public static class OperationEndpoints
{
    public static void MapOperationEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/operations", (HttpContext context, OperationRegistry operations) =>
            Results.Json(operations.List(context.Caller()).Select(o => o.ToInfo()).ToArray(), WorkspacesJson.Default.OperationInfoArray))
            .WithSummary("the caller's operations, running and recent").Produces<OperationInfo[]>();

        v1.MapGet("/operations/{id}", (HttpContext context, string id, OperationRegistry operations) =>
            Results.Json(Find(context, id, operations).ToInfo(), WorkspacesJson.Default.OperationInfo))
            .WithSummary("one operation: status, progress, error").Produces<OperationInfo>();

        // Long-poll: answers when the operation ends or the timeout (seconds) passes, whichever is first.
        v1.MapGet("/operations/{id}/wait", async (HttpContext context, string id, double? timeout, OperationRegistry operations) =>
        {
            var wait = ApiLimits.Seconds(timeout, "timeout") ?? Timeout.InfiniteTimeSpan;
            var op = Find(context, id, operations);
            try
            {
                await op.Finished.WaitAsync(wait, context.RequestAborted);
            }
            catch (TimeoutException)
            {
                // The long-poll's time is up: answer with the operation as it stands (still running).
            }
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo);
        }).WithSummary("wait until the operation ends or timeout seconds pass, then answer it").Produces<OperationInfo>();

        v1.MapDelete("/operations/{id}", (HttpContext context, string id, OperationRegistry operations) =>
        {
            var op = Find(context, id, operations);
            if (op.Status != OperationStatus.Running) throw WorkspacesException.Conflict($"operation {id} has already ended ({op.Status})");
            op.Cancellation.Cancel();
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo, statusCode: 202);
        }).WithSummary("cancel a running operation").Produces<OperationInfo>(202);
    }

    private static Operation Find(HttpContext context, string id, OperationRegistry operations) =>
        operations.Find(id, context.Caller()) ?? throw WorkspacesException.NotFound($"no operation {id}");
}
