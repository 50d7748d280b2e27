using Workspaces.Client;
using Workspaces.Daemon.Federation;

namespace Workspaces.Daemon.Api;

/// <summary>POST /v1/images/pull: an image's chain fetched from peers by hash, as an operation.</summary>
public static class ImagePullEndpoints
{
    public static void MapImagePullEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/images/pull", async (HttpContext context, ImagePull pull) =>
        {
            // Peers are hosts: acting through them is for this host's admins.
            var caller = context.RequireAdmin("pull images from peers");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.PullImageRequest);
            var op = pull.Start(request, caller);
            return Results.Json(op.ToInfo(), WorkspacesJson.Default.OperationInfo, statusCode: 202);
        }).WithSummary("fetch an image and its chain from peers: only blobs this host lacks, in pieces from every peer that holds them (admins; an operation)")
            .Body<PullImageRequest>().Produces<OperationInfo>(202);
    }
}
