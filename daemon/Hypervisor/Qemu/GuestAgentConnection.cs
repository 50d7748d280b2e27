using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// One connected socket to a guest agent's chardev: bytes out, and in either a JSON line or the
/// bytes up to a 0xFF delimiter (what guest-sync-delimited puts before its answer). No protocol
/// beyond that: GuestAgent decides what to send and how long to wait.
/// </summary>
internal sealed class GuestAgentConnection : IAsyncDisposable
{
    /// <summary>A line longer than this is not an answer to anything we ask (reads are 1 MiB, base64).</summary>
    private const long MaxLine = 16 << 20;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _pipe;

    private GuestAgentConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _pipe = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
    }

    public static async Task<GuestAgentConnection> ConnectAsync(string socketPath, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
            return new GuestAgentConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct) => _stream.WriteAsync(bytes, ct);

    /// <summary>Discards everything up to and including the next 0xFF; false at end of stream.</summary>
    public async ValueTask<bool> SkipPastDelimiterAsync(CancellationToken ct)
    {
        while (true)
        {
            var result = await _pipe.ReadAsync(ct);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)0xFF) is { } at)
            {
                _pipe.AdvanceTo(buffer.GetPosition(1, at));
                return true;
            }
            _pipe.AdvanceTo(buffer.End);
            if (result.IsCompleted) return false;
        }
    }

    /// <summary>The next non-empty line without its terminator, or null at end of stream.</summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var result = await _pipe.ReadAsync(ct);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } end)
            {
                string line = Encoding.UTF8.GetString(buffer.Slice(0, end)).Trim();
                _pipe.AdvanceTo(buffer.GetPosition(1, end));
                if (line.Length == 0) continue;
                return line;
            }
            if (buffer.Length > MaxLine) throw new IOException($"the guest agent sent a line longer than {MaxLine} bytes");
            _pipe.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { } // not connected any more: nothing to shut down
        await _pipe.CompleteAsync();
        await _stream.DisposeAsync();
    }
}
