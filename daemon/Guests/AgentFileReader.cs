using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// The smallest qemu-guest-agent client this room needs: reach the agent on the workspace's
/// agent.sock (guest-sync-delimited, so a half-read answer from an earlier client is skipped), then
/// read one small file (guest-file-open/read/close). Every step is bounded by a timeout, since a
/// guest may run no agent at all. Stands in until the full agent client (branch wt-agent,
/// Hypervisor/Qemu/GuestAgent*) is merged: then CloudInitProbe reads through that instead.
/// </summary>
public static class AgentFileReader
{
    /// <summary>The file's bytes; null when the guest's agent answers but the file does not exist (yet).</summary>
    /// <exception cref="TimeoutException">no agent answered in time</exception>
    /// <exception cref="IOException">the socket is absent or closed</exception>
    public static async Task<byte[]?> ReadAsync(string agentSocket, string path, int maxBytes, TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(agentSocket), limit.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var reader = new Reader(stream);
            long id = Random.Shared.NextInt64(1, long.MaxValue >> 12);
            await SendAsync(stream, "guest-sync-delimited", new JsonObject { ["id"] = id }, limit.Token);
            while ((await reader.NextAsync(limit.Token)) is var answer && !(answer.TryGetProperty("return", out var r) && r.ValueKind == JsonValueKind.Number && r.GetInt64() == id)) { }

            await SendAsync(stream, "guest-file-open", new JsonObject { ["path"] = path, ["mode"] = "r" }, limit.Token);
            var open = await reader.NextAsync(limit.Token);
            if (!open.TryGetProperty("return", out var handleElement)) return null; // no such file (yet)
            long handle = handleElement.GetInt64();
            try
            {
                var content = new MemoryStream();
                while (true)
                {
                    await SendAsync(stream, "guest-file-read", new JsonObject { ["handle"] = handle, ["count"] = 65536 }, limit.Token);
                    var read = await reader.NextAsync(limit.Token);
                    if (!read.TryGetProperty("return", out var chunk)) throw new IOException($"guest-file-read of {path} failed: {read}");
                    content.Write(Convert.FromBase64String(chunk.GetProperty("buf-b64").GetString() ?? ""));
                    if (content.Length > maxBytes) throw new IOException($"{path} in the guest is larger than {maxBytes} bytes");
                    if (chunk.GetProperty("eof").GetBoolean() || chunk.GetProperty("count").GetInt32() == 0) return content.ToArray();
                }
            }
            finally
            {
                await SendAsync(stream, "guest-file-close", new JsonObject { ["handle"] = handle }, limit.Token);
                await reader.NextAsync(limit.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no guest agent answered on {agentSocket} within {timeout.TotalSeconds:0.#} s");
        }
        catch (SocketException e)
        {
            throw new IOException($"the guest agent's socket {agentSocket}: {e.Message}", e);
        }
    }

    private static async Task SendAsync(Stream stream, string command, JsonObject arguments, CancellationToken ct)
    {
        var message = new JsonObject { ["execute"] = command, ["arguments"] = arguments };
        await stream.WriteAsync(Encoding.UTF8.GetBytes(message.ToJsonString() + "\n"), ct);
    }

    /// <summary>Answers are JSON objects, one a line; guest-sync-delimited puts a 0xFF byte before its answer.</summary>
    private sealed class Reader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private readonly List<byte> _line = [];
        private int _start, _end;

        public async Task<JsonElement> NextAsync(CancellationToken ct)
        {
            while (true)
            {
                while (_start < _end)
                {
                    byte b = _buffer[_start++];
                    if (b == 0xFF) { _line.Clear(); continue; }
                    if (b != (byte)'\n') { _line.Add(b); continue; }
                    if (_line.Count == 0) continue;
                    using var doc = JsonDocument.Parse(_line.ToArray());
                    _line.Clear();
                    return doc.RootElement.Clone();
                }
                _start = 0;
                _end = await stream.ReadAsync(_buffer, ct);
                if (_end == 0) throw new IOException("the guest agent's socket closed");
            }
        }
    }
}
