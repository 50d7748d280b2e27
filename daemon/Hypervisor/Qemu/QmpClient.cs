using System.Runtime.InteropServices;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// One QMP connection, the only owner of its socket: the greeting and capabilities handshake, one
/// reader loop that routes replies to pending commands by id and events into a channel, and the end
/// of the connection as a task. Commands may be issued concurrently from any thread.
/// Typed commands live in QmpClient.Commands.cs.
/// </summary>
public sealed partial class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly Channel<QmpEvent> _events = Channel.CreateUnbounded<QmpEvent>(new() { SingleReader = true });
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextId;
    private int _disposed;
    private Task? _reader;
    private volatile string? _abortReason;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Events in the order QEMU sent them; completes when the connection ends.</summary>
    public ChannelReader<QmpEvent> Events => _events.Reader;

    /// <summary>Where the conversation is written, if anywhere (the workspace's qmp.log); set right after connecting.</summary>
    public QmpLog? Log { get; set; }

    /// <summary>Completes when the connection has ended (QEMU exited or the socket broke).</summary>
    public Task Closed => _closed.Task;

    /// <summary>
    /// How long connecting may take, greeting and capabilities included. QEMU greets at once; one that
    /// does not is hung, or serves another client (a QMP socket greets one client at a time, and
    /// keeps the next one waiting in its backlog for as long as the first stays).
    /// </summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Connects, reads the greeting and negotiates capabilities, within DefaultConnectTimeout.</summary>
    public static Task<QmpClient> ConnectAsync(string socketPath, CancellationToken ct) => ConnectAsync(socketPath, DefaultConnectTimeout, ct);

    /// <summary>Connects, reads the greeting and negotiates capabilities; a TimeoutException if that takes longer than timeout.</summary>
    public static async Task<QmpClient> ConnectAsync(string socketPath, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        QmpClient? client = null;
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token);
            client = new QmpClient(socket);
            await client.HandshakeAsync(deadline.Token);
            return client;
        }
        catch (Exception e)
        {
            if (client is not null) await client.DisposeAsync();
            else socket.Dispose();
            if (e is OperationCanceledException && !ct.IsCancellationRequested)
                throw new TimeoutException($"QMP at {socketPath} did not complete its handshake within {timeout.TotalSeconds:0.#} s");
            throw;
        }
    }

    private async Task HandshakeAsync(CancellationToken ct)
    {
        var reader = new LineReader(_stream);
        var greeting = await reader.ReadLineAsync(ct) ?? throw new QmpDisconnectedException("QMP socket closed before the greeting");
        using (var doc = JsonDocument.Parse(greeting))
        {
            if (!doc.RootElement.TryGetProperty("QMP", out _))
                throw new QmpDisconnectedException($"not a QMP greeting: {greeting}");
        }
        _reader = Task.Run(() => ReadLoopAsync(reader));
        await ExecuteAsync("qmp_capabilities", null, ct);
    }

    /// <summary>Commands sent (or being sent) whose reply has not arrived: each has an entry until it ends, however it ends.</summary>
    internal int PendingCount => _pending.Count;

    /// <summary>
    /// Sends one command and waits for its reply; QMP errors become QmpException. A descriptor, when
    /// given, travels with the command's bytes (SCM_RIGHTS), as getfd and add-fd expect.
    /// Cancelled before its bytes go out, nothing is left behind; cancelled while they go out (QEMU
    /// is not reading), part of a command may be on the wire and the framing is lost, so the
    /// connection is ended (QmpDisconnectedException for every other command); cancelled after,
    /// the reply is dropped when it comes.
    /// </summary>
    public async Task<JsonElement> ExecuteAsync(string command, JsonObject? arguments, CancellationToken ct, SafeHandle? descriptor = null)
    {
        long id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);

        var message = new JsonObject { ["execute"] = command, ["id"] = id };
        if (arguments is not null) message["arguments"] = arguments;
        byte[] bytes = Encoding.UTF8.GetBytes(message.ToJsonString() + "\n");
        Log?.Sent(message);

        _pending[id] = reply;
        try
        {
            if (_closed.Task.IsCompleted) throw new QmpDisconnectedException(_abortReason ?? "QMP connection is closed");
            await WriteAsync(bytes, descriptor, ct);
        }
        catch
        {
            _pending.TryRemove(id, out _);
            throw;
        }

        using var registration = ct.Register(() =>
        {
            if (_pending.TryRemove(id, out var pending)) pending.TrySetCanceled(ct);
        });
        var result = await reply.Task;
        if (result.TryGetProperty("error", out var error))
        {
            throw new QmpException(command,
                error.TryGetProperty("class", out var c) ? c.GetString() ?? "" : "",
                error.TryGetProperty("desc", out var d) ? d.GetString() ?? "" : error.ToString());
        }
        return result.TryGetProperty("return", out var value) ? value : default;
    }

    private async Task WriteAsync(byte[] bytes, SafeHandle? descriptor, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            ct.ThrowIfCancellationRequested(); // nothing sent yet: the connection stays as it was
            try
            {
                if (descriptor is null) await _stream.WriteAsync(bytes, ct);
                else Native.Libc.SendWithDescriptor(_socket, bytes, descriptor); // one short message: no need to be async
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Abort("a QMP command was canceled while it was being sent (QEMU was not reading); the connection was ended");
                throw;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or Native.NativeException)
            {
                throw new QmpDisconnectedException($"QMP write failed: {e.Message}");
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Ends the connection from our side: the reader loop sees the end, fails every pending command with the reason, and closes.</summary>
    private void Abort(string reason)
    {
        _abortReason ??= reason;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already shut down or disposed: the reader loop has ended, or is ending, anyway.
        }
    }

    private void Fail(long id, string message)
    {
        if (_pending.TryRemove(id, out var pending)) pending.TrySetException(new QmpDisconnectedException(message));
    }

    private async Task ReadLoopAsync(LineReader reader)
    {
        string? reason = null;
        try
        {
            while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
            {
                if (line.Length == 0) continue;
                Log?.Received(line);
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement.Clone();
                if (root.TryGetProperty("event", out var name))
                {
                    var data = root.TryGetProperty("data", out var d) ? d : default;
                    var time = root.TryGetProperty("timestamp", out var ts)
                        ? DateTimeOffset.FromUnixTimeMilliseconds(ts.GetProperty("seconds").GetInt64() * 1000 + ts.GetProperty("microseconds").GetInt64() / 1000)
                        : DateTimeOffset.UtcNow;
                    _events.Writer.TryWrite(new QmpEvent(name.GetString() ?? "", data, time));
                }
                else if (root.TryGetProperty("id", out var idElement) && idElement.TryGetInt64(out long id)
                         && _pending.TryRemove(id, out var pending))
                {
                    pending.TrySetResult(root);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or JsonException or ObjectDisposedException)
        {
            reason = $"QMP connection lost: {e.Message}";
        }
        finally
        {
            reason = _abortReason ?? reason ?? "QEMU closed the QMP connection";
            Log?.Note(reason);
            _closed.TrySetResult();
            _events.Writer.TryComplete();
            foreach (var id in _pending.Keys) Fail(id, reason);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { } // not connected (any more): nothing to shut down
        _socket.Dispose();
        if (_reader is not null) await _reader;
        _closed.TrySetResult();
        _events.Writer.TryComplete();
        await _stream.DisposeAsync();
    }
}
