using Microsoft.Net.Http.Headers;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Images;

namespace Workspaces.Daemon.Api;

/// <summary>
/// /v1/peer/images and /v1/peer/blobs on the peer listener: what a pulling peer reads. Blobs are served
/// with Range (pieces) and their hash as ETag (If-Range holds across restarts: a blob never changes).
/// </summary>
public static class PeerImageEndpoints
{
    public static void MapPeerImageEndpoints(this RouteGroupBuilder peer)
    {
        peer.MapGet("/images", (HttpContext context, PeerInventory inventory) =>
        {
            PeerGate.PeerName(context);
            return Results.Json(inventory.List(), WorkspacesJson.Default.PeerImageEntryArray);
        }).WithSummary("peer API: this host's images with manifests, signatures, sealed keys and blob sizes").Produces<PeerImageEntry[]>();

        peer.MapGet("/blobs/{sha256}", (HttpContext context, string sha256, ImageStore store) =>
        {
            PeerGate.PeerName(context);
            string path = store.BlobPath(BlobAddress.Check(sha256));
            if (!File.Exists(path)) throw WorkspacesException.NotFound($"blob {sha256[..12]} is not in this host's cache");
            if (Faults.CorruptPieces && context.Request.Headers.Range.Count > 0)
                context.Response.Body = new Faults.CorruptingStream(context.Response.Body);
            return Results.File(path, "application/octet-stream", enableRangeProcessing: true,
                entityTag: new EntityTagHeaderValue($"\"{sha256}\""));
        }).WithSummary("peer API: a blob by SHA-256; Range for pieces, the hash as ETag").Produces(200, contentType: "application/octet-stream");

        peer.MapGet("/blobs/{sha256}/pieces", async (HttpContext context, string sha256, BlobPieces pieces) =>
        {
            PeerGate.PeerName(context);
            var list = await pieces.GetAsync(BlobAddress.Check(sha256), context.RequestAborted);
            return Results.Json(list.ToInfo(), WorkspacesJson.Default.PieceListInfo);
        }).WithSummary("peer API: the SHA-256 of each 4 MiB piece of a blob").Produces<PieceListInfo>();
    }
}
