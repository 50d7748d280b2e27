using Workspaces.Daemon.Core;
using System.Text.Json;
using Workspaces.Client;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

public static class EventEndpoints
{
    /// <summary>GET /v1/events: newline-delimited JSON, one event a line, until the client leaves.</summary>
    public static void MapEventEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/events", async (HttpContext context, EventBus events) =>
        {
            var ct = context.RequestAborted;
            var reader = events.Subscribe(context.Caller(), ct);
            context.Response.ContentType = "application/x-ndjson";
            await context.Response.Body.FlushAsync(ct);
            try
            {
                await foreach (var e in reader.ReadAllAsync(ct))
                {
                    await JsonSerializer.SerializeAsync(context.Response.Body, e, WorkspacesJson.Default.EventInfo, ct);
                    await context.Response.Body.WriteAsync("\n"u8.ToArray(), ct);
                    await context.Response.Body.FlushAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The subscriber went away: the stream simply ends.
            }
        }).WithSummary("lifecycle and operation events as they happen: one JSON object a line until the client leaves")
            .Produces<EventInfo>(200, "application/x-ndjson");
    }
}
