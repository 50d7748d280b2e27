using Workspaces.Client;
using Workspaces.Daemon.Playgrounds;

namespace Workspaces.Daemon.Api;

/// <summary>
/// Playgrounds: apply a document (admins, since a playground makes a network), list, show, act on
/// every member at once, remove. A playground is seen and acted on by its owner and by admins.
/// </summary>
public static class PlaygroundEndpoints
{
    public static void MapPlaygroundEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/playgrounds", async (HttpContext context, PlaygroundService playgrounds) =>
        {
            context.RequireAdmin("apply a playground (it makes a network)");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.ApplyPlaygroundRequest);
            var plan = await playgrounds.ApplyAsync(request.Document ?? "", request.Yes, context.Caller(), context.RequestAborted);
            return Results.Json(plan, WorkspacesJson.Default.PlaygroundPlan);
        }).WithSummary("plan a playground document (YAML or JSON): what will be created or removed, where and why; with yes, carry it out "
                + "(all or nothing) and answer once every new member runs (admins)")
            .Body<ApplyPlaygroundRequest>().Produces<PlaygroundPlan>();

        v1.MapGet("/playgrounds", async (HttpContext context, PlaygroundService playgrounds) =>
            Results.Json((await playgrounds.ListAsync(context.Caller(), context.RequestAborted)).ToArray(), WorkspacesJson.Default.PlaygroundInfoArray))
            .WithSummary("the playgrounds the caller may see, with their members").Produces<PlaygroundInfo[]>();

        v1.MapGet("/playgrounds/{name}", async (HttpContext context, string name, PlaygroundService playgrounds) =>
            Results.Json(await playgrounds.ShowAsync(name, context.Caller(), context.RequestAborted), WorkspacesJson.Default.PlaygroundInfo))
            .WithSummary("one playground: its network, its members (host, state, address) and the document last applied").Produces<PlaygroundInfo>();

        v1.MapPost("/playgrounds/{name}/{action}", async (HttpContext context, string name, string action, PlaygroundService playgrounds) =>
            Results.Json(await playgrounds.ActAsync(name, action, context.Caller(), context.RequestAborted), WorkspacesJson.Default.PlaygroundInfo))
            .WithSummary("start, stop, pause, resume, save or restore every member; answers when all are done")
            .WithDescription("save pauses every running member at once, then saves each statefully; restore starts every saved member where it was.")
            .Produces<PlaygroundInfo>();

        v1.MapDelete("/playgrounds/{name}", async (HttpContext context, string name, PlaygroundService playgrounds) =>
        {
            context.RequireAdmin("remove a playground (it removes a network)");
            await playgrounds.DeleteAsync(name, context.Caller(), context.RequestAborted);
            return Results.NoContent();
        }).WithSummary("remove every member, the network and the record (admins)").Produces(204);
    }
}
