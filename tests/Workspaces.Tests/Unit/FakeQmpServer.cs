using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Workspaces.Tests.Unit;

/// <summary>
/// A QMP peer in-process, on a real Unix socket: sends the greeting, answers commands through a
/// handler (which may delay or reorder), and can push events or hang up, to test QmpClient's protocol handling.
/// With readCommands, it stops reading after that many commands (qmp_capabilities counts), as a
/// QEMU that hangs would: the client's writes then back up in the socket.
/// </summary>
public sealed class FakeQmpServer : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly Func<string, JsonElement, Task<string?>> _handler;
    private readonly Task _serve;
    private readonly SemaphoreSlim _write = new(1, 1);
    private Socket? _peer;

    private readonly int _readCommands;

    public FakeQmpServer(Func<string, JsonElement, Task<string?>> handler, int readCommands = int.MaxValue)
    {
        _handler = handler;
        _readCommands = readCommands;
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"qmp-{Guid.NewGuid():N}.sock");
        _listener.Bind(new UnixDomainSocketEndPoint(Path));
        _listener.Listen();
        _serve = ServeAsync();
    }

    public string Path { get; }

    /// <summary>The commands received so far, in order (read under a lock on the list).</summary>
    public List<string> Received { get; } = [];

    /// <summary>Each command as it arrived: its name, id and arguments (read under a lock on the list).</summary>
    public List<(string Command, long Id, JsonElement Arguments)> Requests { get; } = [];
    public TaskCompletionSource Connected { get; } = new();

    private async Task ServeAsync()
    {
        _peer = await _listener.AcceptAsync();
        Connected.TrySetResult();
        await SendAsync("""{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}""");
        using var reader = new StreamReader(new NetworkStream(_peer));
        for (int read = 0; read < _readCommands && await reader.ReadLineAsync() is { } line; read++)
        {
            using var doc = JsonDocument.Parse(line);
            string command = doc.RootElement.GetProperty("execute").GetString()!;
            var id = doc.RootElement.GetProperty("id").Clone();
            var arguments = doc.RootElement.TryGetProperty("arguments", out var a) ? a.Clone() : default;
            lock (Received) Received.Add(command);
            lock (Requests) Requests.Add((command, id.GetInt64(), arguments));
            _ = Task.Run(async () =>
            {
                string? reply = command == "qmp_capabilities" ? """{"return": {}}""" : await _handler(command, id);
                if (reply is null) return; // never answered
                var node = System.Text.Json.Nodes.JsonNode.Parse(reply)!.AsObject();
                node["id"] = System.Text.Json.Nodes.JsonValue.Create(id.GetInt64());
                await SendAsync(node.ToJsonString());
            });
        }
    }

    public async Task SendAsync(string json)
    {
        await _write.WaitAsync();
        try { await _peer!.SendAsync(Encoding.UTF8.GetBytes(json + "\r\n")); }
        finally { _write.Release(); }
    }

    public Task EventAsync(string name, string data = "{}") =>
        SendAsync("{\"event\": \"" + name + "\", \"data\": " + data + ", \"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 5000}}");

    public void HangUp() => _peer!.Shutdown(SocketShutdown.Both);

    public async ValueTask DisposeAsync()
    {
        _peer?.Dispose();
        _listener.Dispose();
        try { await _serve; } catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException) { }
        File.Delete(Path);
    }
}
