using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Api;

/// <summary>
/// /v1/peer/streams/{id} on the peer listener: a WebSocket that a peer opens to reach a local Unix socket
/// this host registered for it (PeerStreams), e.g. an incoming QEMU's migration or NBD socket. Only the
/// peer the id was registered for may open it, once.
/// </summary>
public static class PeerStreamEndpoints
{
    public static void MapPeerStreamEndpoints(this RouteGroupBuilder peer)
    {
        peer.MapGet("/streams/{id}", async (HttpContext context, string id, PeerStreams streams, IHostApplicationLifetime lifetime) =>
        {
            PeerGate.PeerName(context);
            if (!context.WebSockets.IsWebSocketRequest)
                throw WorkspacesException.BadRequest("a stream is opened with a WebSocket upgrade");
            using var socket = await streams.OpenAsync(id, PeerCertificate.FingerprintOf(context.Connection.ClientCertificate!), context.RequestAborted);
            using var webSocket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.FromSeconds(15) });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            await StreamPipe.RunAsync(socket, webSocket, stop.Token);
            if (webSocket.State is System.Net.WebSockets.WebSocketState.CloseReceived)
                await webSocket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            return Results.Empty;
        }).WithSummary("peer API: open a registered stream (WebSocket) to a local socket, e.g. a live migration's").Produces(101);
    }
}
