using System.Buffers;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Copies bytes both ways between a local socket (QEMU's) and a WebSocket over the peer channel, until both
/// directions have ended. Each direction has one pooled buffer for its whole life (no allocation per
/// message); an end of stream on one side is passed on as a half-close, so NBD and migration streams end
/// the way they would on a plain socket. A failure on either side ends both.
/// </summary>
public static class StreamPipe
{
    /// <summary>Large enough that a WebSocket frame's header is noise next to its payload (measured: TunnelTests).</summary>
    public const int BufferSize = 1 << 20;

    public static async Task RunAsync(Socket socket, WebSocket webSocket, CancellationToken ct)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var up = Guard(SocketToWebSocketAsync(socket, webSocket, failed.Token), failed);
        var down = Guard(WebSocketToSocketAsync(webSocket, socket, failed.Token), failed);
        try
        {
            await Task.WhenAll(up, down);
        }
        finally
        {
            if (failed.IsCancellationRequested) webSocket.Abort();
        }
    }

    private static async Task Guard(Task direction, CancellationTokenSource failed)
    {
        try { await direction; }
        catch { failed.Cancel(); throw; }
    }

    private static async Task SocketToWebSocketAsync(Socket socket, WebSocket webSocket, CancellationToken ct)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, ct);
                if (n == 0)
                {
                    await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct);
                    return;
                }
                await webSocket.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, endOfMessage: true, ct);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task WebSocketToSocketAsync(WebSocket webSocket, Socket socket, CancellationToken ct)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var received = await webSocket.ReceiveAsync(buffer.AsMemory(), ct);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    return;
                }
                for (int sent = 0; sent < received.Count;)
                    sent += await socket.SendAsync(buffer.AsMemory(sent, received.Count - sent), SocketFlags.None, ct);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
