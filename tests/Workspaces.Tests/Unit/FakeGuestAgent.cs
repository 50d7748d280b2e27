using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Workspaces.Tests.Unit;

/// <summary>
/// A qemu-ga peer in-process, on a real Unix socket, to test GuestAgent's protocol handling. Like
/// qemu-ga it answers in order and without ids; a 0xFF byte makes it drop half-read input and
/// answer with a parse error; guest-sync-delimited answers 0xFF then {"return": id}. Other commands
/// go to a handler (a reply, or null for none). It serves one client at a time, and the next after
/// the first hangs up. StaleOnConnect is written to each new client first (what an earlier client
/// left unread). SyncAnswers=false makes it a guest without an agent: nothing answers.
/// </summary>
public sealed class FakeGuestAgent : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly Func<string, JsonElement, Task<string?>> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serve;

    public FakeGuestAgent(Func<string, JsonElement, Task<string?>> handler)
    {
        _handler = handler;
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"qga-{Guid.NewGuid():N}.sock");
        _listener.Bind(new UnixDomainSocketEndPoint(Path));
        _listener.Listen();
        _serve = ServeAsync();
    }

    public string Path { get; }
    public byte[] StaleOnConnect { get; set; } = [];
    public bool Answers { get; set; } = true;
    public int Connections;

    /// <summary>The commands received so far (syncs included), in order; read under a lock on the list.</summary>
    public List<string> Received { get; } = [];

    /// <summary>The arguments of each command, in order (read under a lock on Received).</summary>
    public List<JsonElement> Arguments { get; } = [];

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket peer;
            try { peer = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            Interlocked.Increment(ref Connections);
            using (peer)
            {
                try { await ServeOneAsync(peer); }
                catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException) { }
            }
        }
    }

    private async Task ServeOneAsync(Socket peer)
    {
        if (StaleOnConnect.Length > 0) await peer.SendAsync(StaleOnConnect);
        var input = new List<byte>();
        var buffer = new byte[65536];
        while (true)
        {
            int n = await peer.ReceiveAsync(buffer, _stop.Token);
            if (n == 0) return;
            for (int k = 0; k < n; k++)
            {
                byte b = buffer[k];
                if (b == 0xFF)
                {
                    input.Clear();
                    if (Answers) await peer.SendAsync("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}\n"u8.ToArray());
                }
                else if (b == '\n')
                {
                    string line = Encoding.UTF8.GetString(input.ToArray());
                    input.Clear();
                    if (line.Trim().Length > 0) await AnswerAsync(peer, line);
                }
                else input.Add(b);
            }
        }
    }

    private async Task AnswerAsync(Socket peer, string line)
    {
        using var doc = JsonDocument.Parse(line);
        string command = doc.RootElement.GetProperty("execute").GetString()!;
        var arguments = doc.RootElement.TryGetProperty("arguments", out var a) ? a.Clone() : default;
        lock (Received) { Received.Add(command); Arguments.Add(arguments); }
        if (!Answers) return;
        if (command == "guest-sync-delimited")
        {
            byte[] answer = Encoding.UTF8.GetBytes($"{{\"return\": {arguments.GetProperty("id").GetInt64()}}}\n");
            await peer.SendAsync(new byte[] { 0xFF }.Concat(answer).ToArray());
            return;
        }
        string? reply = await _handler(command, arguments);
        if (reply is not null) await peer.SendAsync(Encoding.UTF8.GetBytes(reply + "\n"));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { await _serve; } catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException) { }
        File.Delete(Path);
    }
}
