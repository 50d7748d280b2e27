using Workspaces.Client;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Api;

/// <summary>/v1/peers on the local socket: admins manage which hosts are peers.</summary>
public static class PeerEndpoints
{
    public static void MapPeerEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/peers/tokens", async (HttpContext context, PeerDirectory directory) =>
        {
            context.RequireAdmin("invite peers");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.CreatePeerTokenRequest);
            var token = directory.CreateToken(request.ExpiresSeconds is { } s ? TimeSpan.FromSeconds(s) : null);
            return Results.Json(new PeerTokenInfo(token.Encode(), DateTimeOffset.FromUnixTimeSeconds(token.ExpiresAt), token.Addresses, token.Fingerprint),
                WorkspacesJson.Default.PeerTokenInfo, statusCode: 201);
        }).WithSummary("a single-use token another host redeems to become a peer (admins)").Body<CreatePeerTokenRequest>().Produces<PeerTokenInfo>(201);

        v1.MapPost("/peers", async (HttpContext context, PeerDirectory directory, PeerMonitor monitor) =>
        {
            context.RequireAdmin("add peers");
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.AddPeerRequest);
            var ct = context.RequestAborted;
            PeerRow peer = (request.Token, request.Address, request.Fingerprint) switch
            {
                ({ } token, null, null) => await directory.JoinAsync(request.Name, token, ct),
                (null, { } address, { } fingerprint) => await directory.PinAsync(request.Name, address, fingerprint, ct),
                _ => throw Errors.WorkspacesException.BadRequest("add a peer with a token, or with an address and a fingerprint"),
            };
            var status = await monitor.CheckAsync(peer, ct);
            return Results.Json(ToInfo(directory.Get(peer.Name), status), WorkspacesJson.Default.PeerInfo, statusCode: 201);
        }).WithSummary("join a host with its token, or pin it by address and fingerprint (admins)").Body<AddPeerRequest>().Produces<PeerInfo>(201);

        v1.MapGet("/peers", async (HttpContext context, PeerDirectory directory, PeerMonitor monitor) =>
        {
            context.RequireAdmin("see peers");
            var status = await monitor.CheckAllAsync(context.RequestAborted);
            var list = directory.List().Select(p => ToInfo(p, status.GetValueOrDefault(p.Name) ?? monitor.Status(p.Name))).ToArray();
            return Results.Json(list, WorkspacesJson.Default.PeerInfoArray);
        }).WithSummary("the peers, each checked now (admins)").Produces<PeerInfo[]>();

        v1.MapGet("/peers/{name}", async (HttpContext context, string name, PeerDirectory directory, PeerMonitor monitor) =>
        {
            context.RequireAdmin("see peers");
            var status = await monitor.CheckAsync(directory.Get(name), context.RequestAborted);
            return Results.Json(ToInfo(directory.Get(name), status), WorkspacesJson.Default.PeerInfo); // the check may have learnt its keys
        }).WithSummary("one peer, checked now (admins)").Produces<PeerInfo>();

        v1.MapDelete("/peers/{name}", (HttpContext context, string name, PeerDirectory directory) =>
        {
            context.RequireAdmin("remove peers");
            directory.Remove(name);
            return Results.NoContent();
        }).WithSummary("stop trusting a peer: its next call is refused (admins)").Produces(204);
    }

    public static PeerInfo ToInfo(PeerRow p, PeerStatus s) => new(
        p.Name, p.Address, p.TlsFingerprint, p.SigningKey, p.SealingKey, DateTimeOffset.FromUnixTimeSeconds(p.AddedAt),
        s.Reachable, s == PeerStatus.Unknown ? null : s.Since, s.RoundTripMs,
        s.Summary?.FreeVcpus, s.Summary?.FreeMemoryMiB, s.Summary?.Images, s.Error);
}
