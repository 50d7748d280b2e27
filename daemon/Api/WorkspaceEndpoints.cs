using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

public static class WorkspaceEndpoints
{
    public static void MapWorkspaceEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/workspaces", (HttpContext context, WorkspaceLifecycle lifecycle) =>
            Results.Json(lifecycle.List(context.Caller()).Select(w => w.ToInfo()).ToArray(), WorkspacesJson.Default.WorkspaceInfoArray))
            .WithSummary("the workspaces the caller may see: spec, state and reason").Produces<WorkspaceInfo[]>();

        v1.MapGet("/workspaces/{name}", (HttpContext context, string name, WorkspaceLifecycle lifecycle) =>
        {
            var row = lifecycle.Get(name, context.Caller());
            return Results.Json(row.ToInfo() with { Unit = lifecycle.UnitOf(row), Nic = lifecycle.NicInfo(row, withRules: true) },
                WorkspacesJson.Default.WorkspaceInfo);
        }).WithSummary("one workspace, with its limits' unit and its NIC").Produces<WorkspaceInfo>();

        // ws expose NAME HOSTPORT:GUESTPORT
        v1.MapPost("/workspaces/{name}/forwards", async (HttpContext context, string name, WorkspaceLifecycle lifecycle) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.ExposeRequest);
            await lifecycle.ExposeAsync(name, request, context.Caller(), context.RequestAborted);
            var row = lifecycle.Get(name, context.Caller());
            return Results.Json(row.ToInfo() with { Nic = lifecycle.NicInfo(row, withRules: false) }, WorkspacesJson.Default.WorkspaceInfo, statusCode: 201);
        }).WithSummary("forward a host port to a port of the workspace").Body<ExposeRequest>().Produces<WorkspaceInfo>(201);

        // Renegotiate limits; applied live to a running workspace.
        v1.MapPatch("/workspaces/{name}/resources", async (HttpContext context, string name, WorkspaceLifecycle lifecycle) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.SetResourcesRequest);
            var row = await lifecycle.SetResourcesAsync(name, request, context.Caller(), context.RequestAborted);
            return Results.Json(row.ToInfo() with { Unit = lifecycle.UnitOf(row) }, WorkspacesJson.Default.WorkspaceInfo);
        }).WithSummary("renegotiate limits; live when running").Body<SetResourcesRequest>().Produces<WorkspaceInfo>();

        // Asks the hypervisor live (QMP query-status), next to the state SQLite records.
        v1.MapGet("/workspaces/{name}/status", async (HttpContext context, string name, WorkspaceLifecycle lifecycle) =>
            Results.Json(await lifecycle.StatusAsync(name, context.Caller(), context.RequestAborted), WorkspacesJson.Default.GuestStatus))
            .WithSummary("the recorded state beside QEMU's live query-status").Produces<GuestStatus>();

        v1.MapPost("/workspaces", async (HttpContext context, WorkspaceLifecycle lifecycle) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.CreateWorkspaceRequest);
            var row = await lifecycle.CreateAsync(request, context.Caller(), context.RequestAborted);
            return Results.Json(row.ToInfo(), WorkspacesJson.Default.WorkspaceInfo, statusCode: 201);
        }).WithSummary("define a workspace from an image (a qcow2 overlay on the cached image)")
            .Body<CreateWorkspaceRequest>().Produces<WorkspaceInfo>(201);

        v1.MapDelete("/workspaces/{name}", async (HttpContext context, string name, bool? force, WorkspaceLifecycle lifecycle) =>
        {
            await lifecycle.DeleteAsync(name, context.Caller(), force ?? false, context.RequestAborted);
            return Results.NoContent();
        }).WithSummary("delete a workspace, its disk and its record (force: stop it first)").Produces(204);

        // start | pause | resume | stop | reboot: checked now (4xx at once), carried out as an operation (202).
        v1.MapPost("/workspaces/{name}/{action}", (HttpContext context, string name, string action, bool? force, double? timeout,
            bool? acceptOffer, WorkspaceLifecycle lifecycle, OperationRegistry operations) =>
        {
            // Only the names: Enum.TryParse alone would also take "0" or "Start".
            if (!action.All(char.IsAsciiLetterLower) || !Enum.TryParse<WorkspaceAction>(action, ignoreCase: true, out var verb) || verb == WorkspaceAction.Delete)
                throw WorkspacesException.NotFound($"unknown action {Names.Quote(action)}; actions are start, pause, resume, stop, reboot");
            var wait = ApiLimits.Seconds(timeout, "timeout");
            var caller = context.Caller();
            var row = lifecycle.Check(name, verb, caller);
            if (verb == WorkspaceAction.Start) lifecycle.CheckAdmission(row, acceptOffer ?? false);
            var how = new ActionOptions(force ?? false, wait, acceptOffer ?? false);
            var op = operations.Start(action, name, caller, (_, ct) => lifecycle.ActAsync(name, verb, caller, how, ct));
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo, statusCode: 202);
        }).WithSummary("start, pause, resume, stop or reboot: checked at once, carried out as an operation")
            .WithDescription("action is one of start, pause, resume, stop, reboot. stop takes force and timeout (seconds); start takes acceptOffer.")
            .Produces<OperationInfo>(202);

        v1.MapGet("/workspaces/{name}/console", ConsoleAsync)
            .WithSummary("the serial console log; follow=true streams what the guest writes until the client leaves")
            .Produces(200, contentType: "text/plain");

        // The Factory on a workspace: checkin (an operation: it reads the whole disk) and copy.
        v1.MapPost("/workspaces/{name}/checkin", async (HttpContext context, string name, WorkspaceLifecycle lifecycle,
            OperationRegistry operations, EventBus events) =>
        {
            var caller = context.Caller();
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.CheckinRequest);
            Names.CheckImage(request.As ?? "");
            lifecycle.Check(name, WorkspaceAction.Checkin, caller);
            var op = operations.Start("checkin", name, caller, async (_, ct) =>
            {
                var image = await lifecycle.CheckinAsync(name, request, caller, ct);
                events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.created", name, null, image.Name, null));
            });
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo, statusCode: 202);
        }).WithSummary("check a stopped workspace's disk in as a signed delta image (an operation)")
            .Body<CheckinRequest>().Produces<OperationInfo>(202);

        v1.MapPost("/workspaces/{name}/copy", async (HttpContext context, string name, WorkspaceLifecycle lifecycle) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.CopyWorkspaceRequest);
            var copy = await lifecycle.CopyAsync(name, request.Name ?? "", context.Caller(), context.RequestAborted);
            return Results.Json(copy.ToInfo(), WorkspacesJson.Default.WorkspaceInfo, statusCode: 201);
        }).WithSummary("a new workspace with the same disk state and a new identity")
            .Body<CopyWorkspaceRequest>().Produces<WorkspaceInfo>(201);
    }

    /// <summary>The serial console log; with follow=true it keeps streaming what the guest writes until the client leaves.</summary>
    private static async Task ConsoleAsync(HttpContext context, string name, bool? follow, WorkspaceLifecycle lifecycle)
    {
        var row = lifecycle.Get(name, context.Caller());
        string path = lifecycle.ConsoleLog(row);
        var ct = context.RequestAborted;
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (!File.Exists(path) && follow != true) return;
        while (!File.Exists(path)) await Task.Delay(200, ct);
        await using var log = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await log.ReadAsync(buffer, ct);
                if (n > 0)
                {
                    await context.Response.Body.WriteAsync(buffer.AsMemory(0, n), ct);
                    continue;
                }
                if (follow != true) break;
                await context.Response.Body.FlushAsync(ct);
                await Task.Delay(100, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The follower went away.
        }
    }
}
