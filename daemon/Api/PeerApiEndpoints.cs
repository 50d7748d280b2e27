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

        peer.MapGet("/host", async (HttpContext context, bool? underlay, PeerDirectory directory, UnderlayPaths paths) =>
        {
            PeerGate.PeerName(context);
            // ?underlay=true: the underlay's MTU toward the asker (a spanning network's MTU is the smallest its hosts have
            // toward each other). Only spans ask: it costs an `ip route get`, and every peer check also reads this summary.
            int? mtu = underlay == true && context.Connection.RemoteIpAddress is { } asker ? await paths.MtuTowardAsync(asker, context.RequestAborted) : null;
            return Results.Json(directory.Summary() with { UnderlayMtu = mtu }, WorkspacesJson.Default.PeerHostSummary);
        }).WithSummary("peer API: who this host is and what it has free").Produces<PeerHostSummary>();

        peer.MapPeerImageEndpoints();
        peer.MapPeerStreamEndpoints();
        peer.MapPeerMigrationEndpoints();
        peer.MapPeerPlaygroundEndpoints(); // wt-pgtrust
    }
}
