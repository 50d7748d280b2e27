using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// The qemu-guest-agent protocol to one guest, over the chardev socket of its virtio-serial port
/// org.qemu.guest_agent.0. qemu-ga serves one client and answers in order without ids, so commands
/// are serialized here (one at a time per guest, whoever asks) on one kept connection. A new
/// connection is first synchronized with guest-sync-delimited and a random id (whatever an earlier
/// client left unread is discarded up to the agent's 0xFF delimiter); a connection whose framing is
/// in doubt (a timeout, a cancellation, a broken read) is dropped, and the next command starts a new
/// one. Every command has a deadline that covers waiting for its turn, connecting and syncing too:
/// guests may run no agent at all. Typed commands live in the partial files beside this one.
/// </summary>
public sealed partial class GuestAgent(string socketPath) : IAsyncDisposable
{
    /// <summary>How long one command may take unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a new connection's sync may take: a running qemu-ga answers in milliseconds, so silence this long means none runs.</summary>
    public static readonly TimeSpan SyncTimeout = TimeSpan.FromSeconds(3);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private GuestAgentConnection? _connection;

    public string SocketPath { get; } = socketPath;

    /// <summary>
    /// Sends one command and returns its "return" value; an error answer becomes GuestAgentException,
    /// no answer within timeout (or no socket) GuestAgentUnavailableException.
    /// </summary>
    public async Task<JsonElement> ExecuteAsync(string command, JsonObject? arguments, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await EnterAsync(command, timeout, deadline.Token, ct);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                bool kept = _connection is not null;
                var connection = await ConnectedAsync(command, timeout, deadline.Token, ct);
                try
                {
                    await connection.WriteAsync(Frame(command, arguments), deadline.Token);
                    string line = await connection.ReadLineAsync(deadline.Token)
                        ?? throw new EndOfStreamException($"the guest agent's socket closed before it answered {command} (the guest stopped?)");
                    return Answer(command, line);
                }
                catch (Exception e) when (kept && attempt == 0 && e is EndOfStreamException or SocketException or IOException { InnerException: SocketException })
                {
                    // A kept connection to a QEMU that has since gone (the workspace was restarted): try once on a new one.
                    await DropAsync();
                }
                catch (Exception e) when (e is not GuestAgentException)
                {
                    await DropAsync();
                    throw Unavailable(e, command, timeout, ct);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Sends a command whose success has no answer (guest-shutdown), followed by a sync: an error
    /// comes back before the sync's answer; the sync's answer, the socket closing or silence until
    /// timeout all mean the agent took it. The connection is dropped afterwards either way.
    /// </summary>
    private async Task SendWithoutAnswerAsync(string command, JsonObject? arguments, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await EnterAsync(command, timeout, deadline.Token, ct);
        try
        {
            // A fresh, synced connection: a broken pipe or silence below then means the guest went down,
            // never that a kept connection had been to a QEMU that is gone.
            await DropAsync();
            var connection = await ConnectedAsync(command, timeout, deadline.Token, ct);
            try
            {
                await connection.WriteAsync(Frame(command, arguments), deadline.Token);
                await connection.WriteAsync(Frame("guest-sync-delimited", new JsonObject { ["id"] = RandomId() }), deadline.Token);
                string? line = await connection.ReadLineAsync(deadline.Token);
                if (line is not null && !line.StartsWith('\uFFFD')) Answer(command, line); // throws on an error answer
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Silence until the deadline: the guest went down before it answered the sync.
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                // The socket broke: QEMU exited with the guest.
            }
            finally
            {
                await DropAsync();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task EnterAsync(string command, TimeSpan timeout, CancellationToken deadline, CancellationToken ct)
    {
        try
        {
            await _gate.WaitAsync(deadline);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new GuestAgentUnavailableException(
                $"the guest agent stayed busy with other commands for {timeout.TotalSeconds:0.#} s; {command} was not sent");
        }
    }

    /// <summary>The kept connection, or a new one that has been synchronized.</summary>
    private async Task<GuestAgentConnection> ConnectedAsync(string command, TimeSpan timeout, CancellationToken deadline, CancellationToken ct)
    {
        if (_connection is not null) return _connection;
        GuestAgentConnection connection;
        try
        {
            connection = await GuestAgentConnection.ConnectAsync(SocketPath, deadline);
        }
        catch (SocketException e)
        {
            throw new GuestAgentUnavailableException($"the guest's agent socket cannot be reached ({e.Message}): the guest is not running", e);
        }
        var patience = timeout < SyncTimeout ? timeout : SyncTimeout;
        try
        {
            using var sync = CancellationTokenSource.CreateLinkedTokenSource(deadline);
            sync.CancelAfter(patience);
            await SyncAsync(connection, sync.Token);
        }
        catch (Exception e)
        {
            await connection.DisposeAsync();
            throw Unavailable(e, command, patience, ct);
        }
        _connection = connection;
        return connection;
    }

    /// <summary>
    /// guest-sync-delimited with a random id, after a 0xFF that makes the agent drop any half-read
    /// input. The agent puts 0xFF before its answer: everything up to it is stale (answers an
    /// earlier client never read, the parse error the 0xFF itself causes); an answer with another
    /// id is a stale sync and is skipped too.
    /// </summary>
    private static async Task SyncAsync(GuestAgentConnection connection, CancellationToken ct)
    {
        long id = RandomId();
        var frame = Frame("guest-sync-delimited", new JsonObject { ["id"] = id });
        var bytes = new byte[frame.Length + 1];
        bytes[0] = 0xFF;
        frame.CopyTo(bytes, 1);
        await connection.WriteAsync(bytes, ct);
        while (true)
        {
            if (!await connection.SkipPastDelimiterAsync(ct))
                throw new GuestAgentUnavailableException("the guest agent's socket closed during the sync (the guest stopped?)");
            string line = await connection.ReadLineAsync(ct)
                ?? throw new GuestAgentUnavailableException("the guest agent's socket closed during the sync (the guest stopped?)");
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("return", out var value) && value.TryGetInt64(out long got) && got == id) return;
            }
            catch (JsonException)
            {
                // Not the answer we wait for: keep looking for the next delimiter.
            }
        }
    }

    private static long RandomId() => RandomNumberGenerator.GetInt32(1, int.MaxValue);

    private static byte[] Frame(string command, JsonObject? arguments)
    {
        var message = new JsonObject { ["execute"] = command };
        if (arguments is not null) message["arguments"] = arguments;
        return Encoding.UTF8.GetBytes(message.ToJsonString() + "\n");
    }

    private static JsonElement Answer(string command, string line)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(line);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new IOException($"the guest agent answered {command} with something that is not JSON", e);
        }
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
        {
            throw new GuestAgentException(command,
                error.TryGetProperty("class", out var c) ? c.GetString() ?? "" : "",
                error.TryGetProperty("desc", out var d) ? d.GetString() ?? "" : error.ToString());
        }
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("return", out var value)) return value;
        throw new IOException($"the guest agent answered {command} without a return value");
    }

    /// <summary>What a failed exchange means to the caller: its own cancellation stays one; anything else is "no agent answers".</summary>
    private static Exception Unavailable(Exception e, string command, TimeSpan timeout, CancellationToken ct) => e switch
    {
        OperationCanceledException when ct.IsCancellationRequested => e,
        GuestAgentUnavailableException => e,
        OperationCanceledException => new GuestAgentUnavailableException(
            $"no guest agent answered {command} within {timeout.TotalSeconds:0.#} s (does the guest run qemu-guest-agent?)", e),
        _ => new GuestAgentUnavailableException($"the guest agent connection failed during {command}: {e.Message}", e),
    };

    private async Task DropAsync()
    {
        var connection = _connection;
        _connection = null;
        if (connection is not null) await connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try { await DropAsync(); }
        finally { _gate.Release(); }
    }
}
