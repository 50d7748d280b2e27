using Workspaces.Client;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Api;

/// <summary>/v1/peer on the peer listener (mTLS): what peers ask of this host.</summary>
public static class PeerApiEndpoints
{
    public static void MapPeerApiEndpoints(this RouteGroupBuilder v1)
    {
        var peer = v1.MapGroup("/peer");

        peer.MapPost("/join", async (HttpContext context, PeerDirectory directory) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.PeerJoinRequest);
            string fingerprint = PeerCertificate.FingerprintOf(context.Connection.ClientCertificate!);
            return Results.Json(directory.AcceptJoin(request, fingerprint), WorkspacesJson.Default.PeerHostSummary);
        }).WithSummary("peer API: redeem a join token with the certificate presented").Body<PeerJoinRequest>().Produces<PeerHostSummary>();

        peer.MapGet("/host", async (HttpContext context, PeerDirectory directory, UnderlayPaths underlay) =>
        {
            PeerGate.PeerName(context);
            // The underlay toward the asker: a spanning network's MTU is the smallest its hosts have toward each other.
            int? mtu = context.Connection.RemoteIpAddress is { } asker ? await underlay.MtuTowardAsync(asker, context.RequestAborted) : null;
            return Results.Json(directory.Summary() with { UnderlayMtu = mtu }, WorkspacesJson.Default.PeerHostSummary);
        }).WithSummary("peer API: who this host is and what it has free").Produces<PeerHostSummary>();

        peer.MapPeerImageEndpoints();
        peer.MapPeerStreamEndpoints();
        peer.MapPeerMigrationEndpoints();
        peer.MapPeerPlaygroundEndpoints(); // wt-pgtrust
    }
}
