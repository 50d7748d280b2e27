using Workspaces.Client;
using Workspaces.Daemon.Playgrounds;

namespace Workspaces.Daemon.Api;

/// <summary>A playground's identity document (members signed by their hosts, the whole by the host that applied it), checking one, and its export.</summary>
public static class PlaygroundIdentityEndpoints
{
    public static void MapPlaygroundIdentityEndpoints(this RouteGroupBuilder v1)
    {
        // Whoever may see the playground may read its identity: it names members and addresses, signed, nothing secret.
        v1.MapGet("/playgrounds/{name}/identity", async (HttpContext context, string name, PlaygroundService playgrounds, PlaygroundIdentityIssuer identities) =>
        {
            playgrounds.CheckVisible(name, context.Caller()); // refuses a playground the caller may not see
            return Results.Text(await identities.IssueAsync(name, context.RequestAborted) + "\n", "application/json");
        }).WithSummary("the playground's identity document: canonical JSON, each member signed by its host, the whole by this host (members have it at /etc/playground.json)")
            .Produces(200, contentType: "application/json");

        // Whoever may see the playground may export it: the document they could read, with image ids added.
        v1.MapGet("/playgrounds/{name}/export", (HttpContext context, string name, PlaygroundService playgrounds, PlaygroundExporter exporter) =>
        {
            playgrounds.CheckVisible(name, context.Caller()); // refuses a playground the caller may not see
            return Results.Text(exporter.Export(name), "application/yaml");
        }).WithSummary("the document last applied, each role pinned to its members' image by fingerprint, to apply at another site (its peers supply missing images by hash)")
            .Produces(200, contentType: "application/yaml");

        // Anyone on the socket may check a document: it needs no secret and tells nothing about this host's playgrounds.
        v1.MapPost("/playgrounds/verify", async (HttpContext context, PlaygroundIdentityIssuer identities) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.PlaygroundVerifyRequest);
            var check = identities.Verify(request.Document ?? "");
            var p = check.Identity;
            return Results.Json(new PlaygroundVerifyResult(check.Valid, [.. check.Problems], p?.Name, p?.HostName, p?.IssuedAt,
                p?.Members.Select(m => m.Name).ToArray()), WorkspacesJson.Default.PlaygroundVerifyResult);
        }).WithSummary("check a playground identity document against the keys this host pins (its own and its peers'); says what fails, naming the member")
            .Body<PlaygroundVerifyRequest>().Produces<PlaygroundVerifyResult>();
    }
}
