using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;

namespace Workspaces.Daemon.Api;

/// <summary>
/// Placement by image proximity: /v1/placement on the local socket (admins, since it asks the peers),
/// and the questions it asks of peers on the peer listener.
/// </summary>
public static class PlacementEndpoints
{
    public static void MapPlacementEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/placement", async (HttpContext context, string? image, int? vcpus, int? memoryMiB, Placement placement) =>
        {
            context.RequireAdmin("place workspaces on peers");
            if (string.IsNullOrEmpty(image)) throw WorkspacesException.BadRequest("say which image: /v1/placement?image=NAME");
            if (image.Length > 256) throw WorkspacesException.BadRequest("an image is named by at most 256 characters");
            CheckShape(vcpus, memoryMiB);
            var report = await placement.RankAsync(image, vcpus, memoryMiB, context.RequestAborted);
            return Results.Json(report, WorkspacesJson.Default.PlacementReport);
        }).WithSummary("rank this host and every peer for a workspace of this image and shape: admission, chain bytes held, free capacity (admins)")
            .Produces<PlacementReport>();

        v1.MapGet("/peer/admission", (HttpContext context, int? vcpus, int? memoryMiB, PlacementAdmission admission) =>
        {
            PeerGate.PeerName(context);
            CheckShape(vcpus, memoryMiB);
            return Results.Json(admission.Judge(vcpus, memoryMiB), WorkspacesJson.Default.PeerAdmissionAnswer);
        }).WithSummary("peer API: would this host admit a new workspace of this shape now (policy maxima, free capacity), and if not, why").Produces<PeerAdmissionAnswer>();

        v1.MapGet("/peer/images/{image}/chain", (HttpContext context, string image, PlacementChain chains) =>
        {
            PeerGate.PeerName(context);
            var chain = chains.Find(image) ?? throw WorkspacesException.NotFound($"no image named or with fingerprint {Names.Quote(image)} here");
            return Results.Json(chain, WorkspacesJson.Default.PeerImageChain);
        }).WithSummary("peer API: an image's chain as blobs with their sizes").Produces<PeerImageChain>();

        v1.MapPost("/peer/blobs/held", async (HttpContext context, PlacementChain chains) =>
        {
            PeerGate.PeerName(context);
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.HeldBlobsRequest);
            if (request.Sha256.Length > 1024) throw WorkspacesException.BadRequest("ask about at most 1024 blobs at once");
            return Results.Json(new HeldBlobsAnswer(chains.Held(request.Sha256)), WorkspacesJson.Default.HeldBlobsAnswer);
        }).WithSummary("peer API: which of these blobs (SHA-256) this host holds").Body<HeldBlobsRequest>().Produces<HeldBlobsAnswer>();
    }

    /// <summary>Garbage is refused here; a sane shape a host cannot take is that host's refusal, in the ranking.</summary>
    private static void CheckShape(int? vcpus, int? memoryMiB)
    {
        if (vcpus is < 1 or > 256) throw WorkspacesException.BadRequest($"vcpus must be between 1 and 256, not {vcpus}");
        if (memoryMiB is < 1 or > 1 << 22) throw WorkspacesException.BadRequest($"memoryMiB must be between 1 and 4194304, not {memoryMiB}");
    }
}
