using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Workspaces.Client;
using Workspaces.Client.Audit;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// The audit log of a real daemon: every state-changing route of its route table writes exactly one
/// record per request (refusals with their reason, secrets never), `ws audit verify` checks it offline
/// with only the host's public key, and a SIGKILL during a burst loses at most the last flush window.
/// </summary>
public sealed class AuditTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output = output;

    private const string Secret = "SECRET-AUDIT-PROBE";

    private static HttpClient Http(DaemonProcess daemon) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(daemon.Socket), ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://workspaces/"), Timeout = TimeSpan.FromSeconds(60) };

    private static async Task<List<string>> StateChangingRoutesAsync(DaemonProcess daemon)
    {
        var (file, prefix) = Repo.Daemon;
        var run = await Processes.RunAsync(file, [.. prefix, "--routes", "--config", daemon.ConfigPath, "--state-dir", daemon.StateDir, "--socket", daemon.Socket],
            TimeSpan.FromMinutes(1));
        Assert.True(run.ExitCode == 0, run.Stderr);
        return run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.Split(' ')[0] is "POST" or "PUT" or "PATCH" or "DELETE" && l.Split(' ')[1].StartsWith("/v1/", StringComparison.Ordinal))
            .ToList();
    }

    /// <summary>Every record on disk, read as the verifier reads them (complete lines only).</summary>
    private static List<AuditRecord> Records(DaemonProcess daemon) =>
        AuditChain.DayFiles(Path.Combine(daemon.StateDir, "audit"))
            .SelectMany(f =>
            {
                string text = File.ReadAllText(f);
                return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries);
            })
            .Select(l => JsonSerializer.Deserialize(l, AuditJson.Default.AuditRecord)!).ToList();

    [Fact]
    public async Task Every_state_changing_route_writes_exactly_one_record_per_request_with_refusals_and_no_secrets()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var routes = await StateChangingRoutesAsync(daemon);
        Assert.True(routes.Count > 20, $"only {routes.Count} state-changing routes:\n{string.Join('\n', routes)}");
        using var http = Http(daemon);
        var statuses = new Dictionary<string, int>();
        for (int i = 0; i < routes.Count; i++)
        {
            var (method, template) = (routes[i].Split(' ')[0], routes[i].Split(' ')[1]);
            // Names nothing has, so no probe acts on anything; each request marked by its own query key.
            string path = System.Text.RegularExpressions.Regex.Replace(template, "{[^}]+}", "audit-probe").TrimStart('/') + $"?probe{i}=1";
            using var request = new HttpRequestMessage(new HttpMethod(method), path)
            {
                Content = new StringContent($$"""{"name":"audit-probe-{{i}}","privateKey":"{{Secret}}","token":"{{Secret}}","secret":"{{Secret}}","cmdline":"password={{Secret}}"}""",
                    Encoding.UTF8, "application/json"),
            };
            using var response = await http.SendAsync(request);
            statuses[routes[i]] = (int)response.StatusCode;
        }

        // Wait for each probe's record; the writer appends in queue order, so once a marker sent after all of
        // them is on disk, a second record of any probe would be too.
        await Wait.UntilAsync(() => Enumerable.Range(0, routes.Count).All(i => Records(daemon).Any(r => r.Params?.ContainsKey($"query.probe{i}") == true)),
            TimeSpan.FromSeconds(30), "a record of every probe");
        using (var marker = await http.PostAsync("v1/workspaces/audit-marker/pause", null)) Assert.Equal(404, (int)marker.StatusCode);
        await Wait.UntilAsync(() => Records(daemon).Any(r => r.Target == "workspaces/audit-marker"), TimeSpan.FromSeconds(30), "the marker's record");

        var records = Records(daemon);
        var problems = new List<string>();
        for (int i = 0; i < routes.Count; i++)
        {
            var mine = records.Where(r => r.Params?.ContainsKey($"query.probe{i}") == true).ToList();
            if (mine.Count != 1) { problems.Add($"{routes[i]}: {mine.Count} records"); continue; }
            var record = mine[0];
            if (record.Outcome.Status != statuses[routes[i]]) problems.Add($"{routes[i]}: recorded {record.Outcome.Status}, answered {statuses[routes[i]]}");
            if (record.Outcome.Status >= 400 && string.IsNullOrEmpty(record.Outcome.Reason)) problems.Add($"{routes[i]}: refused ({record.Outcome.Status}) without a reason");
            if (record.Actor is not { Auth: "socket", Uid: 0 }) problems.Add($"{routes[i]}: actor {record.Actor}");
            if (!record.Action.StartsWith(routes[i].Split(' ')[0] + " /v1/", StringComparison.Ordinal)) problems.Add($"{routes[i]}: action {record.Action}");
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        // A route that names something names what nothing has, so it is refused; the few that name nothing
        // (prune, verify of an empty image store) may succeed, and then act on nothing.
        var named = statuses.Where(s => s.Key.Contains('{')).ToList();
        Assert.True(named.All(s => s.Value >= 400), "every probe naming something was to be refused: " + string.Join(", ", named.Where(s => s.Value < 400)));

        string raw = string.Concat(AuditChain.DayFiles(Path.Combine(daemon.StateDir, "audit")).Select(File.ReadAllText));
        Assert.DoesNotContain(Secret, raw);
        Assert.Contains("\"body.privateKey\":\"[redacted]\"", raw);
        Assert.Contains("\"body.name\":\"audit-probe-", raw);

        // Reads are not recorded.
        int before = Records(daemon).Count(r => r.Checkpoint is null);
        using (await http.GetAsync("v1/workspaces")) { }
        using (var marker = await http.DeleteAsync("v1/workspaces/audit-marker2")) Assert.Equal(404, (int)marker.StatusCode);
        await Wait.UntilAsync(() => Records(daemon).Any(r => r.Target == "workspaces/audit-marker2"), TimeSpan.FromSeconds(30), "the second marker");
        Assert.Equal(before + 1, Records(daemon).Count(r => r.Checkpoint is null));

        // `ws audit` reads them back, filtered by workspace.
        var shown = await daemon.WsAsync("audit", "--workspace", "audit-marker", "--json");
        Assert.True(shown.ExitCode == 0, shown.Stderr);
        var listed = JsonSerializer.Deserialize(shown.Stdout, WorkspacesJson.Default.AuditRecordArray)!;
        var only = Assert.Single(listed);
        Assert.Equal("POST /v1/workspaces/{name}/pause", only.Action);
        Assert.Equal(404, only.Outcome.Status);
    }

    [Fact]
    public async Task Kill_during_a_burst_of_1000_actions_loses_at_most_the_last_flush_window_and_the_copied_log_verifies_with_the_host_key()
    {
        await using var daemon = await DaemonProcess.StartAsync(new() { ["audit"] = new Dictionary<string, object> { ["checkpointEveryRecords"] = 100 } });
        string key = (await daemon.Client.GetHostAsync()).SigningKey!;
        using var http = Http(daemon);
        var clock = Stopwatch.StartNew();
        var answered = new System.Collections.Concurrent.ConcurrentDictionary<int, TimeSpan>();
        int next = -1;
        TimeSpan killedAt = TimeSpan.Zero;
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= 1000) return;
                try
                {
                    using var response = await http.PostAsync($"v1/workspaces/burst-{i}/{(i % 2 == 0 ? "pause" : "resume")}", null);
                    if ((int)response.StatusCode == 404) answered[i] = clock.Elapsed;
                }
                catch (HttpRequestException)
                {
                    return; // the daemon is gone
                }
            }
        })).ToArray();
        await Wait.UntilAsync(() => answered.Count >= 500, TimeSpan.FromSeconds(120), "500 answered actions");
        killedAt = clock.Elapsed;
        await daemon.KillAsync();
        await Task.WhenAll(workers);

        var onDisk = Records(daemon).Where(r => r.Target?.StartsWith("workspaces/burst-", StringComparison.Ordinal) == true)
            .Select(r => int.Parse(r.Target!["workspaces/burst-".Length..])).ToHashSet();
        var lost = answered.Where(a => !onDisk.Contains(a.Key)).ToList();
        // What was lost was answered within the last flush window before the kill.
        var oldestLost = lost.Count == 0 ? (TimeSpan?)null : lost.Min(l => l.Value);
        string figures = ($"audit burst: {answered.Count} answered before the kill, {onDisk.Count} on disk, {lost.Count} lost; "
                          + $"oldest lost answered {(oldestLost is { } o ? (killedAt - o).TotalMilliseconds : 0):F0} ms before the kill");
        _output.WriteLine(figures);
        Assert.True(oldestLost is null || killedAt - oldestLost.Value <= TimeSpan.FromMilliseconds(100), figures);

        // Restart: the chain resumes and a start record with a checkpoint seals it.
        await daemon.StartAsync();
        using (var marker = await http.PostAsync("v1/workspaces/after-restart/pause", null)) Assert.Equal(404, (int)marker.StatusCode);
        await Wait.UntilAsync(() => Records(daemon).Any(r => r.Target == "workspaces/after-restart"), TimeSpan.FromSeconds(30), "a record after the restart");
        var all = Records(daemon);
        int started = all.FindLastIndex(r => r.Action == "daemon.started");
        Assert.True(started > 0, "no start record after the restart");
        Assert.NotNull(all[started + 1].Checkpoint);

        // Copied elsewhere, it verifies with only the host's public key: no daemon, no state dir.
        string copy = Directory.CreateTempSubdirectory("ws-audit-copy-").FullName;
        try
        {
            foreach (var f in Directory.EnumerateFiles(Path.Combine(daemon.StateDir, "audit"))) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            // Run without the daemon's socket: a socket nothing listens on proves the check needs no daemon.
            var (cli, prefix) = Repo.Cli;
            var ok = await Processes.RunAsync(cli, [.. prefix, "--socket", "/nonexistent.sock", "audit", "verify", copy, "--host-key", key], TimeSpan.FromMinutes(2));
            Assert.True(ok.ExitCode == 0, ok.Stdout + ok.Stderr);
            Assert.Contains("the chain holds", ok.Stdout);

            // One flipped byte in the middle of the first day file: named.
            string day = AuditChain.DayFiles(copy)[0];
            var lines = File.ReadAllLines(day);
            int target = Array.FindIndex(lines, lines.Length / 2, l => l.Contains("burst-", StringComparison.Ordinal));
            lines[target] = lines[target].Replace("burst-", "burst_", StringComparison.Ordinal);
            File.WriteAllLines(day, lines);
            var bad = await daemon.WsAsync("audit", "verify", copy, "--host-key", key);
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains($"{day}:{target + 1}", bad.Stderr);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task A_guest_that_died_is_recorded_by_the_daemon_and_a_user_reads_only_records_of_their_own_workspaces()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var daemon = await DaemonProcess.StartAsync(new() { ["allowUsers"] = true });
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        var created = await user.WsAsync(daemon.Socket, "create", "guest", "mine");
        Assert.True(created.ExitCode == 0, created.Stderr);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("self", "guest"));
        await client.ActAndWaitAsync("self", "start");
        await daemon.WaitForConsoleAsync("self", "WORKSPACE-READY");
        int pid = (await client.GetWorkspaceAsync("self")).Pid!.Value;

        // Detection's decisions reach the log through IAuditRecorder: a quarantine by hand and its release.
        var held = await daemon.WsAsync("quarantine", "self", "--action", "pause", "--reason", "audit probe");
        Assert.True(held.ExitCode == 0, held.Stderr);
        var released = await daemon.WsAsync("quarantine", "self", "--release");
        Assert.True(released.ExitCode == 0, released.Stderr);
        await Wait.UntilAsync(() => Records(daemon).Any(r => r.Action == "workspace.released"), TimeSpan.FromSeconds(30), "the release's record");
        var quarantined = Assert.Single(Records(daemon), r => r.Action == "workspace.quarantined");
        Assert.Equal("workspaces/self", quarantined.Target);
        Assert.Equal(0u, quarantined.Actor.Uid);
        Assert.Equal("pause", quarantined.Params!["action"]);
        Assert.Equal("audit probe", quarantined.Outcome.Reason);

        // QEMU killed behind the daemon's back: nobody asked, so the daemon is the actor.
        Process.GetProcessById(pid).Kill();
        await Wait.UntilAsync(() => Records(daemon).Any(r => r.Action == "workspace.died"), TimeSpan.FromSeconds(30), "the record of the guest's death");
        var died = Assert.Single(Records(daemon), r => r.Action == "workspace.died");
        Assert.Equal("workspaces/self", died.Target);
        Assert.Equal("daemon", died.Actor.Auth);
        Assert.Null(died.Actor.Uid);
        Assert.Equal(0u, died.Owner);
        Assert.Equal(500, died.Outcome.Status);
        Assert.Contains("exited unexpectedly", died.Outcome.Reason);

        // The admin reads it with `ws audit`, filtered by workspace.
        var shown = await daemon.WsAsync("audit", "--workspace", "self", "--json");
        Assert.True(shown.ExitCode == 0, shown.Stderr);
        var admin = JsonSerializer.Deserialize(shown.Stdout, WorkspacesJson.Default.AuditRecordArray)!;
        Assert.Contains(admin, r => r.Action == "workspace.died");

        // The user sees the record of their own create, and nothing about root's workspace or the daemon itself.
        var theirs = await user.WsAsync(daemon.Socket, "audit", "--json");
        Assert.True(theirs.ExitCode == 0, theirs.Stderr);
        var visible = JsonSerializer.Deserialize(theirs.Stdout, WorkspacesJson.Default.AuditRecordArray)!;
        Assert.Contains(visible, r => r.Action == "POST /v1/workspaces" && r.Actor.Uid == user.Uid && r.Outcome.Status < 300);
        Assert.All(visible, r => Assert.Equal(user.Uid, r.Owner));
        Assert.DoesNotContain(visible, r => r.Target == "workspaces/self");
        var asked = await user.WsAsync(daemon.Socket, "audit", "--workspace", "self", "--json");
        Assert.True(asked.ExitCode == 0, asked.Stderr);
        Assert.Empty(JsonSerializer.Deserialize(asked.Stdout, WorkspacesJson.Default.AuditRecordArray)!);
    }
}
