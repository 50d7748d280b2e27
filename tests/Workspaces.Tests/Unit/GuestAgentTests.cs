using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Workspaces.Daemon.Hypervisor.Qemu;

namespace Workspaces.Tests.Unit;

public sealed class GuestAgentTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static Task<string?> Reply(string json) => Task.FromResult<string?>(json);

    [Fact]
    public async Task Syncs_past_stale_bytes_then_runs_typed_commands()
    {
        await using var fake = new FakeGuestAgent((command, args) => command switch
        {
            "guest-get-osinfo" => Reply("""{"return": {"id": "debian", "name": "Debian GNU/Linux", "pretty-name": "Debian 12", "version-id": "12", "kernel-release": "6.1.0", "machine": "x86_64"}}"""),
            "guest-network-get-interfaces" => Reply("""{"return": [{"name": "lo", "hardware-address": "00:00:00:00:00:00", "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8}]}, {"name": "eth0", "hardware-address": "52:54:00:12:34:56"}]}"""),
            "guest-exec" => Reply("""{"return": {"pid": 77}}"""),
            "guest-exec-status" => Reply("""{"return": {"exited": true, "exitcode": 3, "out-data": "aGkK", "err-data": "ZXJyCg=="}}"""),
            _ => Reply("""{"return": {}}"""),
        })
        {
            // An earlier client's unread answer and its sync with another id, as qemu-ga would still send them.
            StaleOnConnect = [.. "{\"return\": {\"pid\": 1}}\n"u8, 0xFF, .. "{\"return\": 42}\n"u8],
        };
        await using var agent = new GuestAgent(fake.Path);

        var os = await agent.OsInfoAsync(None);
        Assert.Equal(("debian", "Debian 12", "6.1.0"), (os.Id, os.PrettyName, os.KernelRelease));
        var interfaces = await agent.NetworkInterfacesAsync(None);
        Assert.Equal(["lo", "eth0"], interfaces.Select(i => i.Name));
        Assert.Equal(new GuestAddress("ipv4", "127.0.0.1", 8), Assert.Single(interfaces[0].Addresses));
        Assert.Empty(interfaces[1].Addresses);
        Assert.Equal(77, await agent.ExecStartAsync("/bin/sh", ["-c", "echo hi"], null, captureOutput: true, None));
        var status = await agent.ExecStatusAsync(77, None);
        Assert.Equal((true, 3, "hi\n", "err\n"), (status.Exited, status.ExitCode, Encoding.UTF8.GetString(status.Stdout), Encoding.UTF8.GetString(status.Stderr)));

        lock (fake.Received)
        {
            Assert.Equal(["guest-sync-delimited", "guest-get-osinfo", "guest-network-get-interfaces", "guest-exec", "guest-exec-status"], fake.Received);
            Assert.Equal(["-c", "echo hi"], fake.Arguments[3].GetProperty("arg").EnumerateArray().Select(a => a.GetString()));
            Assert.True(fake.Arguments[3].GetProperty("capture-output").GetBoolean());
        }
        Assert.Equal(1, fake.Connections); // one kept connection, synced once
    }

    [Fact]
    public async Task Files_are_read_and_written_in_base64_chunks()
    {
        var written = new MemoryStream();
        await using var fake = new FakeGuestAgent((command, args) => command switch
        {
            "guest-file-open" => Reply("""{"return": 1000}"""),
            "guest-file-write" => WriteChunk(args),
            "guest-file-read" => Reply("{\"return\": {\"count\": 3, \"buf-b64\": \"" + Convert.ToBase64String([1, 2, 255]) + "\", \"eof\": true}}"),
            _ => Reply("""{"return": {}}"""),
        });
        Task<string?> WriteChunk(JsonElement args)
        {
            byte[] data = Convert.FromBase64String(args.GetProperty("buf-b64").GetString()!);
            written.Write(data);
            return Reply("{\"return\": {\"count\": " + data.Length + ", \"eof\": false}}");
        }
        await using var agent = new GuestAgent(fake.Path);

        long handle = await agent.FileOpenAsync("/tmp/x", "w", None);
        Assert.Equal(1000, handle);
        Assert.Equal(4, await agent.FileWriteAsync(handle, new byte[] { 0, 1, 2, 3 }, None));
        var chunk = await agent.FileReadAsync(handle, 65536, None);
        Assert.Equal(new byte[] { 1, 2, 255 }, chunk.Data);
        Assert.True(chunk.Eof);
        await agent.FileCloseAsync(handle, None);
        Assert.Equal(new byte[] { 0, 1, 2, 3 }, written.ToArray());
        lock (fake.Received) Assert.Equal("w", fake.Arguments[1].GetProperty("mode").GetString());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => agent.FileReadAsync(handle, GuestAgent.MaxReadCount + 1, None));
    }

    [Fact]
    public async Task An_error_answer_becomes_GuestAgentException_and_keeps_the_connection()
    {
        await using var fake = new FakeGuestAgent((command, _) => command == "guest-file-open"
            ? Reply("""{"error": {"class": "GenericError", "desc": "failed to open file '/nope' (mode: 'r'): No such file or directory"}}""")
            : Reply("""{"return": {}}"""));
        await using var agent = new GuestAgent(fake.Path);

        var e = await Assert.ThrowsAsync<GuestAgentException>(() => agent.FileOpenAsync("/nope", "r", None));
        Assert.Equal("GenericError", e.ErrorClass);
        Assert.Contains("No such file or directory", e.Message);
        await agent.PingAsync(TimeSpan.FromSeconds(5), None);
        Assert.Equal(1, fake.Connections);
    }

    [Fact]
    public async Task No_agent_in_the_guest_fails_within_the_timeout_as_unavailable()
    {
        await using var fake = new FakeGuestAgent((_, _) => Reply("""{"return": {}}""")) { Answers = false };
        await using var agent = new GuestAgent(fake.Path);

        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<GuestAgentUnavailableException>(() => agent.PingAsync(TimeSpan.FromSeconds(1), None));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(950), TimeSpan.FromSeconds(5));
        Assert.Contains("no guest agent answered guest-ping", e.Message);

        // Once an agent runs, the next command connects anew, syncs, and is answered.
        fake.Answers = true;
        await agent.PingAsync(TimeSpan.FromSeconds(5), None);
        Assert.Equal(2, fake.Connections);
    }

    [Fact]
    public async Task A_command_left_unanswered_drops_the_connection_and_the_next_one_resyncs()
    {
        int pings = 0;
        await using var fake = new FakeGuestAgent((command, _) =>
            command == "guest-ping" && Interlocked.Increment(ref pings) == 1 ? Task.FromResult<string?>(null) : Reply("""{"return": {}}"""));
        await using var agent = new GuestAgent(fake.Path);

        await agent.ExecuteAsync("guest-info", null, TimeSpan.FromSeconds(10), None); // connected and synced: the short timeout below is the ping's alone
        await Assert.ThrowsAsync<GuestAgentUnavailableException>(() => agent.PingAsync(TimeSpan.FromMilliseconds(300), None));
        await agent.PingAsync(TimeSpan.FromSeconds(5), None);
        Assert.Equal(2, fake.Connections);
        lock (fake.Received) Assert.Equal(["guest-sync-delimited", "guest-info", "guest-ping", "guest-sync-delimited", "guest-ping"], fake.Received);
    }

    [Fact]
    public async Task No_socket_means_the_guest_is_not_running()
    {
        await using var agent = new GuestAgent(Path.Combine(Path.GetTempPath(), $"absent-{Guid.NewGuid():N}.sock"));
        var e = await Assert.ThrowsAsync<GuestAgentUnavailableException>(() => agent.PingAsync(TimeSpan.FromSeconds(5), None));
        Assert.Contains("not running", e.Message);
    }

    [Fact]
    public async Task Commands_from_many_callers_go_one_at_a_time()
    {
        int inFlight = 0, most = 0;
        await using var fake = new FakeGuestAgent(async (command, args) =>
        {
            int now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            await Task.Delay(5);
            Interlocked.Decrement(ref inFlight);
            return "{\"return\": {\"pid\": " + args.GetProperty("arg")[0].GetString() + "}}";
        });
        await using var agent = new GuestAgent(fake.Path);

        // Each caller must get its own answer back: with no ids on the wire, only strict turns make that so.
        var pids = await Task.WhenAll(Enumerable.Range(1, 30).Select(i =>
            agent.ExecStartAsync("/bin/true", [i.ToString()], null, false, None)));
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), pids);
        Assert.Equal(1, most);
    }

    [Fact]
    public async Task Shutdown_without_an_answer_succeeds_and_an_error_answer_throws()
    {
        bool refuse = false;
        await using var fake = new FakeGuestAgent((command, _) => command == "guest-shutdown" && refuse
            ? Reply("""{"error": {"class": "GenericError", "desc": "child process has failed to shutdown"}}""")
            : Task.FromResult<string?>(null));
        await using var agent = new GuestAgent(fake.Path);

        await agent.ShutdownAsync("powerdown", None);
        refuse = true;
        var e = await Assert.ThrowsAsync<GuestAgentException>(() => agent.ShutdownAsync("powerdown", None));
        Assert.Contains("failed to shutdown", e.Message);
        lock (fake.Received) Assert.Equal("powerdown", fake.Arguments[1].GetProperty("mode").GetString());
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
