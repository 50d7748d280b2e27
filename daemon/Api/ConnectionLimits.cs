using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;
using Workspaces.Native;

namespace Workspaces.Daemon.Api;

/// <summary>
/// At most MaxConnectionsPerUser open connections per local uid (root excepted), so one user who
/// opens thousands of idle connections on a 0666 socket cannot starve the others. A connection over
/// the cap gets a 503 problem and is closed; its request is read, never served.
/// </summary>
public sealed class ConnectionLimits(IOptionsMonitor<WorkspacesOptions> options)
{
    private readonly ConcurrentDictionary<uint, int> _open = new();

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        uint uid = socket is null ? 0 : Libc.GetPeerCredentials(socket).Uid;
        if (uid == 0)
        {
            await next(connection);
            return;
        }
        int open = _open.AddOrUpdate(uid, 1, (_, n) => n + 1);
        try
        {
            if (open > options.CurrentValue.MaxConnectionsPerUser)
                await RefuseAsync(connection, $"uid {uid} already has {open - 1} connections open to workspacesd (at most {options.CurrentValue.MaxConnectionsPerUser}); close some and try again");
            else
                await next(connection);
        }
        finally
        {
            _open.AddOrUpdate(uid, 0, (_, n) => n - 1);
            _open.TryRemove(new KeyValuePair<uint, int>(uid, 0));
        }
    }

    private static async Task RefuseAsync(ConnectionContext connection, string detail)
    {
        // Take the request's head first: closing with unread bytes would reset the connection, and
        // a reset can discard the answer before the client reads it.
        using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try
            {
                while (true)
                {
                    var read = await connection.Transport.Input.ReadAsync(patience.Token);
                    var head = new SequenceReader<byte>(read.Buffer);
                    bool headEnded = read.Buffer.Length > 65536 || head.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8);
                    connection.Transport.Input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                    if (headEnded || read.IsCompleted) break;
                }
            }
            catch (OperationCanceledException) { } // a client that sends nothing gets the answer anyway
        }
        string body = $$"""{"type":"about:blank","title":"Service unavailable","status":503,"detail":"{{detail}}"}""";
        string response = $"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        await connection.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes(response));
        await connection.Transport.Output.CompleteAsync();
    }
}
