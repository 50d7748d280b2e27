using System.Collections.Concurrent;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Detection and the right to take action (issue #14) on real guests: the daemon in a network namespace,
/// "the outside" in a second one linked to it. A guest that breaks its traffic policy is counted, the rise
/// is an event, and the policy (here set per network) quarantines it.
/// </summary>
public sealed class DetectionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_guest_that_spoofs_is_counted_reported_and_isolated_to_its_gateway_until_released_across_a_restart()
    {
        await using var host = await NetNamespace.CreateAsync("h");
        await using var outside = await NetNamespace.CreateAsync("o");
        await host.LinkAsync(outside, "10.64.9");
        const double window = 20;
        await using var daemon = await DaemonProcess.StartAsync(Detection("wan", "isolate", threshold: 3, window), netns: host.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateNetworkAsync(new CreateNetworkRequest("wan", "10.64.0.0/24", Nat: true));
        await LaunchAsync(daemon, new CreateWorkspaceRequest("g", "guest", Network: "wan"));
        await GuestShell.RunAsync(daemon, "g", "ping -c 1 -W 3 10.64.9.2"); // the outside, before
        Assert.Equal((0, 0, 0, null), Summary(await client.GetTrafficAsync("g")));

        var seen = new ConcurrentQueue<EventInfo>();
        using var stop = new CancellationTokenSource();
        var listening = Collect(client, seen, stop.Token);

        // Another source address: every echo request is dropped at its bridge port, and counted.
        var started = DateTimeOffset.UtcNow;
        var spoofed = await Assert.ThrowsAsync<GuestCommandException>(() =>
            GuestShell.RunAsync(daemon, "g", "ip addr add 10.64.0.99/24 dev eth0; ping -c 5 -i 0.2 -W 1 -I 10.64.0.99 10.64.0.1"));
        Assert.Contains("0 packets received", spoofed.Output);
        await Wait.UntilAsync(() => seen.Any(e => e is { Type: "traffic.violation", Workspace: "g" }), Soon, "a traffic.violation event");
        var violation = seen.First(e => e.Type == "traffic.violation");
        Assert.True(long.Parse(violation.Details!["spoofed"]) > 0, violation.Reason);
        await Wait.UntilAsync(async () => (await client.GetTrafficAsync("g")).Quarantine is not null, TimeSpan.FromSeconds(window), "isolation within the window");
        var traffic = await client.GetTrafficAsync("g");
        double after = (traffic.Quarantine!.Since - started).TotalSeconds;
        output.WriteLine($"counted {traffic.Spoofed} spoofed; isolated {after:0.0} s after the spoofing began");
        Assert.InRange(after, 0, window);
        Assert.InRange(traffic.Spoofed, 3, long.MaxValue);
        Assert.Equal(("isolate", true), (traffic.Quarantine.Action, traffic.Quarantine.ByPolicy));
        Assert.Contains("threshold 3 on network 'wan'", traffic.Quarantine.Reason);
        await Wait.UntilAsync(() => seen.Any(e => e is { Type: "workspace.quarantined", Workspace: "g" }), Soon, "a workspace.quarantined event");
        Assert.Equal("isolate", seen.First(e => e.Type == "workspace.quarantined").Details!["action"]);
        var shown = await daemon.WsAsync("show", "g");
        Assert.Contains("isolate since", shown.Stdout);
        Assert.Contains("by the detection policy", shown.Stdout);

        // Back on its own address, it reaches its gateway and nothing else.
        await GuestShell.RunAsync(daemon, "g", "ip addr del 10.64.0.99/24 dev eth0");
        await GuestShell.RunAsync(daemon, "g", "ping -c 1 -W 3 10.64.0.1");
        await AssertUnreachableAsync(daemon, "10.64.9.2");

        // The quarantine is in SQLite: a daemon started again isolates it again.
        await daemon.KillAsync();
        await host.RunAsync("nft", "delete", "table", "bridge", "workspaces");
        await daemon.StartAsync();
        Assert.Equal("isolate", (await client.GetTrafficAsync("g")).Quarantine?.Action);
        await GuestShell.RunAsync(daemon, "g", "ping -c 1 -W 3 10.64.0.1");
        await AssertUnreachableAsync(daemon, "10.64.9.2");

        // Released: the outside again, and the release is an event.
        seen.Clear();
        listening = Collect(client, seen, stop.Token);
        var released = await daemon.WsAsync("quarantine", "g", "--release");
        Assert.True(released.ExitCode == 0, released.Stderr);
        Assert.Null((await client.GetTrafficAsync("g")).Quarantine);
        await GuestShell.RunAsync(daemon, "g", "ping -c 1 -W 3 10.64.9.2");
        await Wait.UntilAsync(() => seen.Any(e => e is { Type: "workspace.released", Workspace: "g" }), Soon, "a workspace.released event");
        var again = await Assert.ThrowsAsync<ApiException>(() => client.ReleaseQuarantineAsync("g"));
        Assert.Equal(409, again.Status);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task A_guest_that_hammers_a_denied_egress_port_is_counted_and_paused_then_resumed_on_release()
    {
        await using var host = await NetNamespace.CreateAsync("h");
        await using var outside = await NetNamespace.CreateAsync("o");
        await host.LinkAsync(outside, "10.65.9");
        await using var daemon = await DaemonProcess.StartAsync(Detection("lan", "pause", threshold: 5, window: 60), netns: host.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.65.0.0/24", Nat: true));
        await LaunchAsync(daemon, new CreateWorkspaceRequest("h1", "guest", Network: "lan", Egress: "10.65.9.0/24:7001"));

        // In the background: once it is paused, the command port answers no more.
        await GuestShell.RunAsync(daemon, "h1", "(for i in $(seq 30); do echo | nc -w 1 10.65.9.2 7002; done) >/dev/null 2>&1 &");
        await Wait.UntilAsync(async () => (await client.GetWorkspaceAsync("h1")).State == WorkspaceStates.Paused, TimeSpan.FromSeconds(90), "the pause");
        var traffic = await client.GetTrafficAsync("h1");
        output.WriteLine($"counted {traffic.EgressRefused} refused by the egress allowlist before the pause");
        Assert.InRange(traffic.EgressRefused, 5, long.MaxValue);
        Assert.Equal(0, traffic.Spoofed);
        Assert.Equal(("pause", true), (traffic.Quarantine?.Action, traffic.Quarantine?.ByPolicy));

        // Only its release lets it out: a resume is refused, saying why.
        var resume = await Assert.ThrowsAsync<ApiException>(() => client.ActAsync("h1", "resume"));
        Assert.Equal(409, resume.Status);
        Assert.Contains("in quarantine (pause", resume.Message);
        await client.ReleaseQuarantineAsync("h1");
        Assert.Equal(WorkspaceStates.Running, (await client.GetWorkspaceAsync("h1")).State);
        await GuestShell.RunAsync(daemon, "h1", "true");
    }

    [Fact]
    public async Task An_owner_releases_only_a_quarantine_they_put_on_by_hand()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var ns = await NetNamespace.CreateAsync("q");
        await using var daemon = await DaemonProcess.StartAsync(new() { ["allowUsers"] = true }, ns.Name);
        File.SetUnixFileMode(daemon.Dir, (UnixFileMode)Convert.ToInt32("755", 8));
        await GuestImages.ImportAsync(daemon.Client);
        await daemon.Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.66.0.0/24"));
        var created = await user.WsAsync(daemon.Socket, "create", "guest", "mine", "--network", "lan");
        Assert.True(created.ExitCode == 0, created.Stderr);
        string owner = user.Uid.ToString();

        // Their own, by hand: theirs to release.
        var held = await user.WsAsync(daemon.Socket, "quarantine", "mine", "--reason", "checking something");
        Assert.True(held.ExitCode == 0, held.Stderr);
        Assert.Contains("in quarantine (isolate): checking something", held.Stdout);
        var twice = await user.WsAsync(daemon.Socket, "quarantine", "mine", "--action", "pause");
        Assert.Contains("already in quarantine (isolate)", twice.Stderr);
        var released = await user.WsAsync(daemon.Socket, "quarantine", "mine", "--release");
        Assert.True(released.ExitCode == 0, released.Stderr);

        // An admin's: not theirs to release.
        var byAdmin = await daemon.WsAsync("--owner", owner, "quarantine", "mine", "--action", "stop");
        Assert.True(byAdmin.ExitCode == 0, byAdmin.Stderr);
        var refused = await user.WsAsync(daemon.Socket, "quarantine", "mine", "--release");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("only an admin may release it", refused.Stderr);
        var start = await user.WsAsync(daemon.Socket, "start", "mine");
        Assert.Contains("is in quarantine (stop", start.Stderr);
        var bad = await daemon.WsAsync("--owner", owner, "quarantine", "mine", "--release", "--action", "pause");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.True((await daemon.WsAsync("--owner", owner, "quarantine", "mine", "--release")).ExitCode == 0);
        var unknown = await daemon.WsAsync("--owner", owner, "quarantine", "mine", "--action", "jail");
        Assert.Contains("is not isolate, pause or stop", unknown.Stderr);
    }

    [Fact]
    public async Task A_bad_detection_policy_stops_the_start()
    {
        await using var daemon = new DaemonProcess(Detection("lan", "jail", threshold: 0, window: 60));
        var started = await Assert.ThrowsAsync<InvalidOperationException>(daemon.StartAsync);
        Assert.Contains("exited (2) at start", started.Message);
        Assert.Contains("detection action must be none, isolate, pause or stop", started.Message);
        Assert.Contains("Threshold", started.Message);
    }

    /// <summary>The host's policy only counts; the one network named acts.</summary>
    private static Dictionary<string, object> Detection(string network, string action, long threshold, double window) => new()
    {
        ["detection"] = new Dictionary<string, object>
        {
            ["intervalSeconds"] = 0.5,
            ["policy"] = new Dictionary<string, object> { ["action"] = "none" },
            ["networks"] = new object[]
            {
                new Dictionary<string, object> { ["network"] = network, ["action"] = action, ["threshold"] = threshold, ["windowSeconds"] = window },
            },
        },
    };

    private static (long, long, long, string?) Summary(TrafficInfo t) => (t.Spoofed, t.EgressRefused, t.RateDropped, t.Quarantine?.Action);

    private static Task Collect(WorkspacesClient client, ConcurrentQueue<EventInfo> seen, CancellationToken ct) => Task.Run(async () =>
    {
        try
        {
            await foreach (var e in client.StreamEventsAsync(ct)) seen.Enqueue(e);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException) { } // the daemon went away or we stopped
    });

    private static async Task AssertUnreachableAsync(DaemonProcess daemon, string address)
    {
        var blocked = await Assert.ThrowsAsync<GuestCommandException>(() => GuestShell.RunAsync(daemon, "g", $"ping -c 2 -W 2 {address}"));
        Assert.Contains("0 packets received", blocked.Output);
    }

    private static async Task LaunchAsync(DaemonProcess daemon, CreateWorkspaceRequest request)
    {
        await daemon.Client.CreateWorkspaceAsync(request);
        await daemon.Client.ActAndWaitAsync(request.Name, "start");
        await daemon.WaitForConsoleAsync(request.Name, "WORKSPACE-COMMANDS");
        await Wait.UntilAsync(async () => (await GuestShell.RunAsync(daemon, request.Name, "ip addr show eth0")).Contains("inet "),
            TimeSpan.FromSeconds(30), $"{request.Name}'s address");
    }
}
