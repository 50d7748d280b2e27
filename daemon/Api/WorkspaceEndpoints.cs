using Workspaces.Daemon.Core;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

public static class WorkspaceEndpoints
{
    /// <summary>The actions of POST /v1/workspaces/NAME/ACTION, by their only names.</summary>
    private static readonly Dictionary<string, WorkspaceAction> Actions = new(StringComparer.Ordinal)
    {
        ["start"] = WorkspaceAction.Start,
        ["pause"] = WorkspaceAction.Pause,
        ["resume"] = WorkspaceAction.Resume,
        ["stop"] = WorkspaceAction.Stop,
        ["reboot"] = WorkspaceAction.Reboot,
    };

    public static void MapWorkspaceEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/workspaces", (HttpContext context, WorkspaceAccess access, string? state, string? image, string? prefix, int? limit, string? cursor) =>
        {
            var query = WorkspaceListing.Parse(state, image, prefix, limit, cursor);
            // One row past the page says whether another page follows, without a count.
            var rows = access.Page(context.Caller(), query with { Limit = query.Limit + 1 });
            if (query.Limit is { } size && rows.Count > size)
            {
                rows = rows.Take(size).ToList();
                context.Response.Headers[WorkspaceListing.NextCursorHeader] = WorkspaceListing.Encode(rows[^1]);
            }
            return Results.Json(rows.Select(w => w.ToInfo()).ToArray(), WorkspacesJson.Default.WorkspaceInfoArray);
        }).WithSummary("the workspaces the caller may see, by name (an admin's: everyone's, or ?owner=UID's); filters: state, image (name or id), "
                + "prefix (of the name); pages: limit (1-1000; none: all) and cursor (from the Next-Cursor header, absent on the last page)")
            .Produces<WorkspaceInfo[]>();

        v1.MapGet("/workspaces/{name}", async (HttpContext context, string name, bool? agent, WorkspaceAccess access, WorkspaceViews views,
            WorkspaceAgent agents) =>
        {
            var row = access.Get(name, context.Caller());
            var info = views.Full(row, withRules: true);
            // Asked only on request: a guest without an agent costs show a bounded wait (WorkspaceAgent.ShowTimeout).
            if (agent == true && row.State == WorkspaceStates.Running) info = info with { Agent = await agents.DescribeAsync(row, context.RequestAborted) };
            return Results.Json(info, WorkspacesJson.Default.WorkspaceInfo);
        }).WithSummary("one workspace, with its limits' unit and its NIC; agent=true adds what its guest agent says (answering, OS, addresses)")
            .Produces<WorkspaceInfo>();

        v1.MapPost("/workspaces", async (HttpContext context, WorkspaceDefinitions definitions) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.CreateWorkspaceRequest);
            var row = await definitions.CreateAsync(request, context.Caller(), context.RequestAborted);
            return Results.Json(row.ToInfo(), WorkspacesJson.Default.WorkspaceInfo, statusCode: 201);
        }).WithSummary("define a workspace from an image (a qcow2 overlay on the cached image)")
            .Body<CreateWorkspaceRequest>().Produces<WorkspaceInfo>(201);

        v1.MapDelete("/workspaces/{name}", async (HttpContext context, string name, bool? force, WorkspaceDefinitions definitions) =>
        {
            await definitions.DeleteAsync(name, context.Caller(), force ?? false, context.RequestAborted);
            return Results.NoContent();
        }).WithSummary("delete a workspace, its disk and its record (force: stop it first)").Produces(204);

        // Renegotiate limits; applied live to a running workspace.
        v1.MapPatch("/workspaces/{name}/resources", async (HttpContext context, string name, WorkspaceDefinitions definitions, WorkspaceViews views) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.SetResourcesRequest);
            var row = await definitions.SetResourcesAsync(name, request, context.Caller(), context.RequestAborted);
            return Results.Json(views.Full(row, withRules: false), WorkspacesJson.Default.WorkspaceInfo);
        }).WithSummary("renegotiate limits; live when running").Body<SetResourcesRequest>().Produces<WorkspaceInfo>();

        // ws expose NAME HOSTPORT:GUESTPORT
        v1.MapPost("/workspaces/{name}/forwards", async (HttpContext context, string name, WorkspaceAccess access, NetworkService network,
            WorkspaceViews views) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.ExposeRequest);
            var caller = context.Caller();
            await network.ExposeAsync(access.Get(name, caller), request.Protocol ?? "tcp", request.HostPort, request.GuestPort, caller, context.RequestAborted);
            return Results.Json(views.Full(access.Get(name, caller), withRules: false), WorkspacesJson.Default.WorkspaceInfo, statusCode: 201);
        }).WithSummary("forward a host port to a port of the workspace").Body<ExposeRequest>().Produces<WorkspaceInfo>(201);

        // Asks the hypervisor live (QMP query-status), next to the state SQLite records.
        v1.MapGet("/workspaces/{name}/status", async (HttpContext context, string name, WorkspaceAccess access, GuestSupervisor guests) =>
        {
            var row = access.Get(name, context.Caller());
            string? live = guests.TryGet(row.Id, out var guest) ? await guest.QueryStateAsync(context.RequestAborted) : null;
            return Results.Json(new GuestStatus(row.State, live, guest?.Pid), WorkspacesJson.Default.GuestStatus);
        }).WithSummary("the recorded state beside QEMU's live query-status").Produces<GuestStatus>();

        // start | pause | resume | stop | reboot: checked now (4xx at once), carried out as an operation (202).
        v1.MapPost("/workspaces/{name}/{action}", (HttpContext context, string name, string action, bool? force, double? timeout,
            bool? acceptOffer, bool? stateful, bool? discardState, WorkspaceAccess access, WorkspaceTransitions transitions, OperationRegistry operations,
            Quarantine quarantine) =>
        {
            if (!Actions.TryGetValue(action, out var verb))
                throw WorkspacesException.NotFound($"unknown action {Names.Quote(action)}; actions are {string.Join(", ", Actions.Keys)}");
            var wait = ApiLimits.Seconds(timeout, "timeout");
            var caller = context.Caller();
            var row = access.Check(name, verb, caller);
            quarantine.CheckAction(row, verb); // wt-detect
            if (verb == WorkspaceAction.Start) transitions.CheckAdmission(row, acceptOffer ?? false);
            if (stateful == true && (verb != WorkspaceAction.Stop || force == true))
                throw WorkspacesException.BadRequest("stateful applies to stop only, and not with force (a forced stop has no state to keep)");
            if (discardState == true && verb != WorkspaceAction.Start) throw WorkspacesException.BadRequest("discardState applies to start only");
            var how = new ActionOptions(force ?? false, wait, acceptOffer ?? false, stateful ?? false, discardState ?? false);
            var op = operations.Start(action, name, caller, (_, ct) => transitions.ActAsync(name, verb, caller, how, ct));
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo, statusCode: 202);
        }).WithSummary("start, pause, resume, stop or reboot: checked at once, carried out as an operation")
            .WithDescription("action is one of start, pause, resume, stop, reboot. stop takes force and timeout (seconds), or stateful "
                + "(save RAM and device state: the workspace becomes Saved); start takes acceptOffer, and discardState (boot a Saved workspace afresh).")
            .Produces<OperationInfo>(202);

        v1.MapGet("/workspaces/{name}/console", ConsoleAsync)
            .WithSummary("the serial console log; follow=true streams what the guest writes until the client leaves")
            .Produces(200, contentType: "text/plain");

        // The Factory on a workspace: checkin (an operation: it reads the whole disk) and copy.
        v1.MapPost("/workspaces/{name}/checkin", async (HttpContext context, string name, WorkspaceAccess access, WorkspaceFactory factory,
            OperationRegistry operations, EventBus events) =>
        {
            var caller = context.Caller();
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.CheckinRequest);
            Names.CheckImage(request.As ?? "");
            access.Check(name, WorkspaceAction.Checkin, caller);
            var op = operations.Start("checkin", name, caller, async (_, ct) =>
            {
                var image = await factory.CheckinAsync(name, request, caller, ct);
                events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.created", name, null, image.Name, null, caller.Namespace));
            });
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo, statusCode: 202);
        }).WithSummary("check a stopped workspace's disk in as a signed delta image (an operation)")
            .Body<CheckinRequest>().Produces<OperationInfo>(202);

        // A template from a running workspace: its RAM and disk (an operation: the RAM is saved and both are hashed).
        v1.MapPost("/workspaces/{name}/snapshot", async (HttpContext context, string name, WorkspaceAccess access, WorkspaceSnapshots snapshots,
            OperationRegistry operations, EventBus events) =>
        {
            var caller = context.Caller();
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.SnapshotRequest);
            Names.CheckImage(request.As ?? "");
            if (!caller.IsAdmin) throw WorkspaceSnapshots.AdminsOnly();
            access.Check(name, WorkspaceAction.Snapshot, caller);
            var op = operations.Start("snapshot", name, caller, async (_, ct) =>
            {
                var image = await snapshots.SnapshotAsync(name, request, caller, ct);
                events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.created", name, null, image.Name, null, caller.Namespace));
            });
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo, statusCode: 202);
        }).WithSummary("make a template image of a running workspace: its disk delta and its RAM, signed by this host (an operation); "
                + "workspaces created from it are restored from that RAM at their first start, each with its own identity")
            .Body<SnapshotRequest>().Produces<OperationInfo>(202);

        v1.MapPost("/workspaces/{name}/copy", async (HttpContext context, string name, WorkspaceFactory factory) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.CopyWorkspaceRequest);
            var copy = await factory.CopyAsync(name, request.Name ?? "", context.Caller(), context.RequestAborted);
            return Results.Json(copy.ToInfo(), WorkspacesJson.Default.WorkspaceInfo, statusCode: 201);
        }).WithSummary("a new workspace with the same disk state and a new identity")
            .Body<CopyWorkspaceRequest>().Produces<WorkspaceInfo>(201);
    }

    /// <summary>The serial console log; with follow=true it keeps streaming what the guest writes until the client leaves.</summary>
    private static async Task ConsoleAsync(HttpContext context, string name, bool? follow, WorkspaceAccess access, WorkspaceLayout layout)
    {
        var row = access.Get(name, context.Caller());
        string path = layout.ConsoleLog(row.Id);
        var ct = context.RequestAborted;
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (!File.Exists(path) && follow != true) return;
        await Poll.WaitUntilAsync(() => File.Exists(path), Timeout.InfiniteTimeSpan, ct);
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
                await Poll.WaitUntilAsync(() => log.Length > log.Position, Timeout.InfiniteTimeSpan, ct); // the guest wrote more
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The follower went away.
        }
    }
}
