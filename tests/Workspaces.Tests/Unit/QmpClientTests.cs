using System.Text.Json;
using System.Text.Json.Nodes;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Testing;

namespace Workspaces.Tests.Unit;

public sealed class QmpClientTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Negotiates_capabilities_then_runs_typed_commands()
    {
        await using var server = new FakeQmpServer((command, _) => Task.FromResult<string?>(command switch
        {
            "query-status" => """{"return": {"status": "paused", "singlestep": false, "running": false}}""",
            _ => """{"return": {}}""",
        }));
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        Assert.Equal("paused", await qmp.QueryStatusAsync(None));
        await qmp.ContinueAsync(None);
        Assert.Equal(["qmp_capabilities", "query-status", "cont"], server.Received);
    }

    [Fact]
    public async Task Replies_out_of_order_reach_the_command_that_asked()
    {
        // Every caller asks something of its own; the fake holds all replies until every command is in,
        // then answers last first, each with what its own command asked: the replies cross for certain.
        const int count = 40;
        await using var server = new FakeQmpServer((_, _) => Task.FromResult<string?>(null)); // answered by hand below
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        var calls = Enumerable.Range(0, count).Select(async caller =>
        {
            var result = await qmp.ExecuteAsync("human-monitor-command", new JsonObject { ["command-line"] = $"caller {caller}" }, None);
            return (Caller: caller, Answer: result.GetString());
        }).ToArray();
        await Wait.UntilAsync(() => { lock (server.Requests) return server.Requests.Count == count + 1; }, TimeSpan.FromSeconds(10),
            $"all {count} commands reaching the fake");
        List<(string Command, long Id, JsonElement Arguments)> asked;
        lock (server.Requests) asked = server.Requests.Where(r => r.Command == "human-monitor-command").OrderByDescending(r => r.Id).ToList();
        foreach (var (_, id, arguments) in asked)
            await server.SendAsync(new JsonObject { ["return"] = "answer to " + arguments.GetProperty("command-line").GetString(), ["id"] = id }.ToJsonString());

        var answers = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(answers, a => Assert.Equal($"answer to caller {a.Caller}", a.Answer));
    }

    [Fact]
    public async Task Errors_become_QmpException_with_class_and_description()
    {
        await using var server = new FakeQmpServer((_, _) =>
            Task.FromResult<string?>("""{"error": {"class": "GenericError", "desc": "No such device"}}"""));
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        var e = await Assert.ThrowsAsync<QmpException>(() => qmp.ResetAsync(None));
        Assert.Equal("GenericError", e.ErrorClass);
        Assert.Contains("No such device", e.Message);
    }

    [Fact]
    public async Task Events_arrive_in_order_and_hang_up_fails_pending_commands()
    {
        await using var server = new FakeQmpServer((_, _) => Task.FromResult<string?>(null)); // never answers
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        await server.EventAsync("STOP");
        await server.EventAsync("SHUTDOWN", """{"guest": true, "reason": "guest-shutdown"}""");
        var pending = qmp.PowerdownAsync(None);
        // Pending for certain (sent, not answered) when the peer hangs up.
        await Wait.UntilAsync(() => { lock (server.Received) return server.Received.Contains("system_powerdown"); }, TimeSpan.FromSeconds(10),
            "system_powerdown reaching the fake");
        server.HangUp();

        var hungUp = await Assert.ThrowsAsync<QmpDisconnectedException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("QEMU closed the QMP connection", hungUp.Message);
        await qmp.Closed.WaitAsync(TimeSpan.FromSeconds(5));
        var events = new List<QmpEvent>();
        await foreach (var e in qmp.Events.ReadAllAsync()) events.Add(e);
        Assert.Equal(["STOP", "SHUTDOWN"], events.Select(e => e.Name));
        Assert.Equal("guest-shutdown", events[1].Data.GetProperty("reason").GetString());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1700000000005), events[0].Time);
        var afterClose = await Assert.ThrowsAsync<QmpDisconnectedException>(() => qmp.ContinueAsync(None)); // after close, at once
        Assert.Equal("QMP connection is closed", afterClose.Message);
    }

    [Fact]
    public async Task A_canceled_command_stops_waiting_without_breaking_the_connection()
    {
        await using var server = new FakeQmpServer((command, _) =>
            Task.FromResult<string?>(command == "stop" ? null : """{"return": {"status": "running"}}"""));
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => qmp.StopVcpusAsync(cts.Token));
        Assert.Equal("running", await qmp.QueryStatusAsync(None));
    }

    [Fact]
    public async Task A_peer_that_is_not_QMP_is_refused()
    {
        var path = Path.Combine(Path.GetTempPath(), $"notqmp-{Guid.NewGuid():N}.sock");
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        listener.Listen();
        // The peer stays connected until the client leaves: the client must refuse the greeting itself,
        // not merely notice a hang-up.
        var serve = Task.Run(async () =>
        {
            using var peer = await listener.AcceptAsync();
            await peer.SendAsync("{\"hello\": 1}\n"u8.ToArray());
            var rest = new byte[4096];
            int total = 0, n;
            while ((n = await peer.ReceiveAsync(rest)) > 0) total += n;
            return total; // what the client sent before it left
        });
        var refused = await Assert.ThrowsAsync<QmpDisconnectedException>(() => QmpClient.ConnectAsync(path, None)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("not a QMP greeting: {\"hello\": 1}", refused.Message);
        Assert.Equal(0, await serve.WaitAsync(TimeSpan.FromSeconds(10))); // no qmp_capabilities to a peer that is not QMP
        File.Delete(path);
    }
}

public sealed class QmpClientCancellationTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task A_command_canceled_before_it_is_sent_leaves_no_pending_reply_and_the_connection_works()
    {
        await using var server = new FakeQmpServer((_, _) => Task.FromResult<string?>("""{"return": {"status": "running"}}"""));
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        using var canceled = new CancellationTokenSource();
        canceled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => qmp.StopVcpusAsync(canceled.Token));
        Assert.Equal(0, qmp.PendingCount);
        Assert.Equal("running", await qmp.QueryStatusAsync(None));
        Assert.DoesNotContain("stop", server.Received);
        Assert.Equal(0, qmp.PendingCount);
    }

    [Fact]
    public async Task Writes_canceled_while_QEMU_does_not_read_leave_no_pending_reply_and_end_the_connection()
    {
        // The peer reads the handshake only; then the socket's buffers fill and writes block.
        await using var server = new FakeQmpServer((_, _) => Task.FromResult<string?>("""{"return": {}}"""), readCommands: 1);
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        var big = new System.Text.Json.Nodes.JsonObject { ["data"] = new string('x', 16 << 20) }; // far more than a socket buffers

        using var first = new CancellationTokenSource();
        var blocked = qmp.ExecuteAsync("human-monitor-command", big, first.Token);
        using var second = new CancellationTokenSource();
        var waiting = qmp.ExecuteAsync("query-status", null, second.Token); // waits its turn behind the blocked write
        Assert.False(blocked.IsCompleted);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(2, qmp.PendingCount);

        second.Cancel(); // not sent yet: leaves nothing, breaks nothing
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(1, qmp.PendingCount);
        Assert.False(qmp.Closed.IsCompleted);

        first.Cancel(); // part of it is on the wire: the connection cannot carry another command
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
        Assert.Equal(0, qmp.PendingCount);
        await qmp.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        var e = await Assert.ThrowsAsync<QmpDisconnectedException>(() => qmp.QueryStatusAsync(None));
        Assert.Contains("canceled while it was being sent", e.Message);
        Assert.Equal(0, qmp.PendingCount);
    }

    [Fact]
    public async Task Connecting_to_a_socket_that_never_greets_times_out()
    {
        var path = Path.Combine(Path.GetTempPath(), $"silent-{Guid.NewGuid():N}.sock");
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        listener.Listen(); // accepted by the kernel, never greeted: QEMU's monitor busy with another client
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<TimeoutException>(() => QmpClient.ConnectAsync(path, TimeSpan.FromMilliseconds(300), None));
            Assert.Contains("did not complete its handshake within 0.3 s", e.Message);
            // The timer counts whole milliseconds of its own clock: it may fire a fraction of one early by the Stopwatch.
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(295), $"gave up after {clock.Elapsed.TotalMilliseconds:0.0} ms");

            // The caller's own cancellation stays a cancellation.
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => QmpClient.ConnectAsync(path, TimeSpan.FromSeconds(30), cts.Token));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
