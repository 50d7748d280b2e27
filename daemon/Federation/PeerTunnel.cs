using System.Net.Sockets;
using System.Net.WebSockets;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The source's side of the tunnel: a local Unix socket that QEMU connects to (as if the destination's
/// socket were here); the one connection accepted is piped to a WebSocket on the peer's mTLS listener,
/// opening the stream id the destination registered. Nothing listens on the network.
/// Completion ends when the stream has ended (faulted if it failed). Disposing tears everything down.
/// </summary>
public sealed class PeerTunnel : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _socketPath;
    private readonly CancellationTokenSource _stop = new();

    private PeerTunnel(string socketPath, Socket listener, Func<CancellationToken, Task<WebSocket>> connect)
    {
        _socketPath = socketPath;
        _listener = listener;
        Completion = ServeAsync(connect, _stop.Token);
    }

    public Task Completion { get; }

    public static PeerTunnel Open(PeerChannel channel, string address, string fingerprint, string streamId, string socketPath)
    {
        var uri = new Uri($"wss://{address}/v1/peer/streams/{Uri.EscapeDataString(streamId)}");
        return Open(socketPath, async ct =>
        {
            var webSocket = new ClientWebSocket();
            webSocket.Options.KeepAliveInterval = TimeSpan.FromSeconds(15);
            webSocket.Options.SetBuffer(StreamPipe.BufferSize, StreamPipe.BufferSize);
            try
            {
                await webSocket.ConnectAsync(uri, channel.StreamInvoker(address, fingerprint), ct);
                return webSocket;
            }
            catch
            {
                webSocket.Dispose();
                throw;
            }
        });
    }

    /// <summary>A tunnel whose far end comes from connect (the peer channel above, or a test's).</summary>
    public static PeerTunnel Open(string socketPath, Func<CancellationToken, Task<WebSocket>> connect)
    {
        File.Delete(socketPath);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new PeerTunnel(socketPath, listener, connect);
    }

    private async Task ServeAsync(Func<CancellationToken, Task<WebSocket>> connect, CancellationToken ct)
    {
        await Task.Yield();
        using var local = await _listener.AcceptAsync(ct);
        _listener.Close(); // one stream per id: nobody else may connect
        using var remote = await connect(ct);
        await StreamPipe.RunAsync(local, remote, ct);
        if (remote.State == WebSocketState.CloseReceived || remote.State == WebSocketState.CloseSent)
            await remote.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { await Completion; }
        catch (Exception) { /* its failure was seen by whoever awaited Completion; here we only tear down */ }
        File.Delete(_socketPath);
        _stop.Dispose();
    }
}
