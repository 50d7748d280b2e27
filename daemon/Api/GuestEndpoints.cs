using Workspaces.Client;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>
/// What reaches into a running guest through its agent: exec, files in and out, and run (create,
/// start, exec, delete as one). Authorization is the workspace's own rule (WorkspaceAccess: its
/// owner, or an admin); run creates as the caller, as POST /workspaces does.
/// </summary>
public static class GuestEndpoints
{
    private const string Ndjson = "application/x-ndjson";

    /// <summary>The size of a file read from a guest, ahead of its bytes (for a progress bar).</summary>
    public const string FileSizeHeader = "Workspaces-File-Size";

    public static void MapGuestEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/workspaces/{name}/exec", async (HttpContext context, string name, WorkspaceAgent agents) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.ExecRequest);
            var (_, agent) = agents.For(name, context.Caller(), "exec in");
            // Started before the answer begins: a guest without an agent is a problem+json, not a frame.
            await using var process = await GuestProcess.StartAsync(agent, request, context.RequestAborted);
            await StreamAsync(context, process.FollowAsync(context.RequestAborted));
        }).WithSummary("run a command in a running workspace through its guest agent; stdout, stderr and the exit stream back as NDJSON frames")
            .Body<ExecRequest>().Produces<ExecFrame>(200, Ndjson);

        v1.MapGet("/workspaces/{name}/files", async (HttpContext context, string name, string? path, WorkspaceAgent agents) =>
        {
            var (_, agent) = agents.For(name, context.Caller(), "read files of");
            var (handle, size) = await GuestFileTransfer.OpenForReadAsync(agent, path ?? "", context.RequestAborted);
            context.Response.ContentType = "application/octet-stream";
            context.Response.Headers[FileSizeHeader] = size.ToString();
            await GuestFileTransfer.CopyOutAsync(agent, handle, context.Response.Body, context.RequestAborted);
        }).WithSummary("a file of a running workspace (?path=/absolute/path), read through its guest agent in chunks")
            .Produces(200, contentType: "application/octet-stream");

        v1.MapPut("/workspaces/{name}/files", async (HttpContext context, string name, string? path, WorkspaceAgent agents) =>
        {
            var (_, agent) = agents.For(name, context.Caller(), "write files of");
            GuestFileTransfer.CheckPath(path);
            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = null; // a file, not JSON: streamed through, any size
            long size = await GuestFileTransfer.CopyInAsync(agent, path!, new UploadBody(context.Request.Body), context.RequestAborted);
            return Results.Json(new GuestFileInfo(path!, size), WorkspacesJson.Default.GuestFileInfo);
        }).WithSummary("write the body to a file of a running workspace (?path=/absolute/path): to a temporary name, renamed once whole")
            .Produces<GuestFileInfo>();

        v1.MapPost("/run", async (HttpContext context, WorkspaceRunner runner) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.RunRequest);
            var caller = context.Caller();
            string name = await runner.CreateAsync(request, caller, context.RequestAborted);
            await StreamAsync(context, runner.RunAsync(name, request, caller, context.RequestAborted));
        }).WithSummary("create a workspace from an image, start it, run a command through its agent, stream the output, delete it (unless keep); "
                + "the client leaving deletes it too")
            .Body<RunRequest>().Produces<ExecFrame>(200, Ndjson);
    }

    /// <summary>Writes frames as NDJSON, each flushed; a failure once frames have gone out becomes a last Error frame.</summary>
    private static async Task StreamAsync(HttpContext context, IAsyncEnumerable<ExecFrame> frames)
    {
        context.Response.ContentType = Ndjson;
        var body = context.Response.Body;
        await using var e = frames.GetAsyncEnumerator(context.RequestAborted);
        while (true)
        {
            ExecFrame frame;
            try
            {
                if (!await e.MoveNextAsync()) return;
                frame = e.Current;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
            {
                frame = new ExecFrame(Error: ex.Message);
                await WriteAsync(body, frame, context.RequestAborted);
                return;
            }
            await WriteAsync(body, frame, context.RequestAborted);
        }
    }

    private static async Task WriteAsync(Stream body, ExecFrame frame, CancellationToken ct)
    {
        await System.Text.Json.JsonSerializer.SerializeAsync(body, frame, WorkspacesJson.Default.ExecFrame, ct);
        await body.WriteAsync("\n"u8.ToArray(), ct);
        await body.FlushAsync(ct);
    }
}
