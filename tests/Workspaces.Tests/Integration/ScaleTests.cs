using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Scale and footprint (issue 16): addresses leased to running workspaces only, a daemon whose memory
/// does not grow with defined workspaces, and listings in pages. Real daemons in network namespaces.
/// </summary>
public sealed class ScaleTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>CI's share of the benchmark's 10,000.</summary>
    private const int Defined = 2000;

    [Fact]
    public async Task Addresses_are_leased_at_start_returned_at_stop_and_kept_across_reboot_and_daemon_restart()
    {
        await using var ns = await NetNamespace.CreateAsync("h");
        await using var daemon = await DaemonProcess.StartAsync(netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        string dhcp = $"{(await TestGuest.GetAsync()).Cmdline} ip=dhcp";
        await client.CreateNetworkAsync(new CreateNetworkRequest("tiny", "10.88.0.0/29")); // 5 addresses: .2 to .6
        // More defined than the network has addresses: a definition takes a MAC, not an address.
        for (int i = 1; i <= 7; i++)
            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"t{i}", "guest", Cmdline: i is 3 or 6 ? dhcp : null, Network: "tiny"));
        Assert.All(await Task.WhenAll(Enumerable.Range(1, 7).Select(i => client.GetWorkspaceAsync($"t{i}"))), w => Assert.Null(w.Nic!.Address));

        for (int i = 1; i <= 5; i++) await client.ActAndWaitAsync($"t{i}", "start");
        Assert.Equal(new string?[] { "10.88.0.2", "10.88.0.3", "10.88.0.4", "10.88.0.5", "10.88.0.6" }, await AddressesAsync(client, 1, 5));
        await AssertAllowedAsync(client, allowed: ["10.88.0.2", "10.88.0.3", "10.88.0.4", "10.88.0.5", "10.88.0.6"], denied: []);

        // The sixth is refused at once (before an operation), naming the network and its size.
        var full = await Assert.ThrowsAsync<ApiException>(() => client.ActAsync("t6", "start"));
        Assert.Equal(409, full.Status);
        Assert.Contains("network 'tiny' (10.88.0.0/29) is full: all 5 of its addresses", full.Message);

        // A stopped workspace's address goes back to the pool and out of the policy; the next start gets it (over DHCP:
        // dnsmasq's lease file no longer gives it to the stopped one's MAC).
        await daemon.WaitForConsoleAsync("t3", "WORKSPACE-COMMANDS");
        await WaitForAddressAsync(daemon, "t3", "10.88.0.4"); // t3 holds a DHCP lease on it
        await client.ActAndWaitAsync("t3", "stop", "force=true");
        Assert.Null((await client.GetWorkspaceAsync("t3")).Nic!.Address);
        await AssertAllowedAsync(client, allowed: ["10.88.0.2", "10.88.0.3", "10.88.0.5", "10.88.0.6"], denied: ["10.88.0.4"]);
        await client.ActAndWaitAsync("t6", "start");
        Assert.Equal("10.88.0.4", (await client.GetWorkspaceAsync("t6")).Nic!.Address);
        await daemon.WaitForConsoleAsync("t6", "WORKSPACE-COMMANDS");
        await WaitForAddressAsync(daemon, "t6", "10.88.0.4");
        await GuestShell.RunAsync(daemon, "t6", "ping -c 1 -W 3 10.88.0.1");

        // A guest reboot keeps its address.
        await client.ActAndWaitAsync("t1", "reboot");
        Assert.Equal("10.88.0.2", (await client.GetWorkspaceAsync("t1")).Nic!.Address);

        // So does a daemon killed and started again: the leases are in SQLite, the guests ran on.
        await daemon.KillAsync();
        await daemon.StartAsync();
        Assert.Equal(new string?[] { "10.88.0.2", "10.88.0.3", "10.88.0.5", "10.88.0.6" }, await AddressesAsync(client, 1, 2, 4, 5));
        Assert.Equal("10.88.0.4", (await client.GetWorkspaceAsync("t6")).Nic!.Address);
        Assert.Null((await client.GetWorkspaceAsync("t3")).Nic!.Address);
        await AssertAllowedAsync(client, allowed: ["10.88.0.2", "10.88.0.3", "10.88.0.4", "10.88.0.5", "10.88.0.6"], denied: []);
        await GuestShell.RunAsync(daemon, "t6", "ping -c 1 -W 3 10.88.0.1");
        var stillFull = await Assert.ThrowsAsync<ApiException>(() => client.ActAsync("t7", "start"));
        Assert.Contains("is full", stillFull.Message);
        foreach (var name in new[] { "t1", "t2", "t4", "t5", "t6" }) await client.ActAndWaitAsync(name, "stop", "force=true");

        // A /16 works as a /29 does: the lowest address, DHCP and the gateway.
        await client.CreateNetworkAsync(new CreateNetworkRequest("wide", "10.90.0.0/16"));
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("w1", "guest", Cmdline: dhcp, Network: "wide"));
        await client.ActAndWaitAsync("w1", "start");
        Assert.Equal("10.90.0.2", (await client.GetWorkspaceAsync("w1")).Nic!.Address);
        await daemon.WaitForConsoleAsync("w1", "WORKSPACE-COMMANDS");
        await Wait.UntilAsync(async () => (await GuestShell.RunAsync(daemon, "w1", "ip addr show eth0")).Contains("inet 10.90.0.2/16"),
            TimeSpan.FromSeconds(30), "w1 configured 10.90.0.2/16 over DHCP");
        await GuestShell.RunAsync(daemon, "w1", "ping -c 1 -W 3 10.90.0.1");
    }

    [Fact]
    public async Task Thousands_defined_cost_rows_not_memory_and_list_in_pages_quickly_after_a_restart()
    {
        await using var ns = await NetNamespace.CreateAsync("h");
        await using var daemon = await DaemonProcess.StartAsync(netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await CreateManyAsync(client, 0, 100);
        long warm = Rss(daemon.Pid);
        var clock = Stopwatch.StartNew();
        // All on the default /24: far more defined than it has addresses.
        await CreateManyAsync(client, 100, Defined);
        long grown = Rss(daemon.Pid);
        double perWorkspace = (grown - warm) / (double)(Defined - 100);
        output.WriteLine($"{Defined} created in {clock.Elapsed.TotalSeconds:0.0} s; RSS {warm >> 10} KiB at 100, {grown >> 10} KiB at {Defined}: {perWorkspace / 1024:0.0} KiB per workspace");
        Assert.True(perWorkspace <= 64 * 1024, $"the daemon grew {perWorkspace / 1024:0.0} KiB per defined workspace (at most 64)");

        // Filters.
        Assert.Equal(Defined, (await client.ListWorkspacesAsync()).Length);
        Assert.Equal(Defined, (await ListAllAsync(client, new WorkspaceFilter(State: "defined"), 1000)).Count);
        Assert.Empty(await ListAllAsync(client, new WorkspaceFilter(State: "running"), 1000));
        Assert.Equal(Defined, (await ListAllAsync(client, new WorkspaceFilter(Image: "guest"), 1000)).Count);
        Assert.Empty(await ListAllAsync(client, new WorkspaceFilter(Image: "no-such-image"), 1000));
        Assert.Equal(Enumerable.Range(0, Defined).Select(Name).Where(n => n.StartsWith("s01", StringComparison.Ordinal)),
            (await ListAllAsync(client, new WorkspaceFilter(Prefix: "s01"), 7)).Select(w => w.Name));

        // Pages while rows are added: every row that was there throughout comes once, none twice, in order.
        var before = (await client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet();
        var seen = new List<string>();
        string? cursor = null;
        int added = 0;
        do
        {
            var page = await client.ListWorkspacesPageAsync(new WorkspaceFilter(), 150, cursor);
            seen.AddRange(page.Items.Select(w => w.Name));
            cursor = page.NextCursor;
            // Before and after the cursor's position, so some new rows land in pages still to come.
            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"a{added++:D4}", "guest", MemoryMiB: 128));
            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"z{added++:D4}", "guest", MemoryMiB: 128));
        } while (cursor is not null);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Subset(seen.ToHashSet(), before);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);

        // Refusals: a cursor not given out, a page of nothing or too much, a state that is none.
        foreach (var query in new[] { "cursor=bm90LWEtY3Vyc29y&limit=10", "cursor=%25%25&limit=10", "limit=0", "limit=1001", "limit=-1", "state=sleeping" })
        {
            var refused = await RawHttp.SendBodyAsync(daemon.Socket, "GET", $"/v1/workspaces?{query}", null, []);
            Assert.True(refused.Status == 400, $"{query}: {refused.Status} {refused.Body}");
            Assert.Contains("application/problem+json", refused.ContentType);
        }

        // ws list prints them all, header first, and stays quick.
        clock.Restart();
        var list = await daemon.WsAsync("list");
        output.WriteLine($"ws list of {Defined + added}: {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, list.ExitCode);
        var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("NAME", lines[0]);
        Assert.Equal(Defined + added + 1, lines.Length);
        var filtered = await daemon.WsAsync("list", "--prefix", "s0000", "--state", "defined"); // s00000..s00009
        Assert.Equal(11, filtered.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // A daemon killed and started again answers a listing within 2 s.
        await daemon.KillAsync();
        clock.Restart();
        await daemon.StartAsync();
        var restarted = clock.Elapsed;
        output.WriteLine($"restart to list with {Defined + added} defined: {restarted.TotalMilliseconds:0} ms");
        Assert.True(restarted < TimeSpan.FromSeconds(2), $"the restarted daemon answered after {restarted.TotalSeconds:0.00} s");
    }

    private static string Name(int i) => $"s{i:D5}";

    /// <summary>Defines workspaces s{from}..s{to-1} on the default network, four requests at a time.</summary>
    private static async Task CreateManyAsync(WorkspacesClient client, int from, int to)
    {
        var next = from - 1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < to;)
                await client.CreateWorkspaceAsync(new CreateWorkspaceRequest(Name(i), "guest", MemoryMiB: 128, Network: "default"));
        }));
    }

    internal static async Task<List<WorkspaceInfo>> ListAllAsync(WorkspacesClient client, WorkspaceFilter filter, int limit)
    {
        var all = new List<WorkspaceInfo>();
        await foreach (var page in client.ListWorkspacePagesAsync(filter, limit)) all.AddRange(page);
        return all;
    }

    internal static long Rss(int pid) =>
        long.Parse(File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;

    private static async Task<string?[]> AddressesAsync(WorkspacesClient client, params int[] which) =>
        (await Task.WhenAll(which.Select(i => client.GetWorkspaceAsync($"t{i}")))).Select(w => w.Nic!.Address).ToArray();

    private static async Task<string?[]> AddressesAsync(WorkspacesClient client, int first, int last) =>
        await AddressesAsync(client, Enumerable.Range(first, last - first + 1).ToArray());

    /// <summary>The network's policy, as the kernel holds it: anti-spoofing lets exactly the leased addresses through.</summary>
    private static async Task AssertAllowedAsync(WorkspacesClient client, string[] allowed, string[] denied)
    {
        string rules = string.Join("\n", (await client.GetNetworkAsync("tiny")).Rules ?? []);
        // (each drop counts into the workspace's named spoofing counter first)
        foreach (var address in allowed) Assert.Matches($@"ip saddr != {Regex.Escape(address)} (counter name ""?[\w-]+""? )?drop", rules);
        foreach (var address in denied) Assert.DoesNotContain(address, rules);
    }

    private static async Task WaitForAddressAsync(DaemonProcess daemon, string name, string address) =>
        await Wait.UntilAsync(async () => (await GuestShell.RunAsync(daemon, name, "ip addr show eth0")).Contains($"inet {address}/29"),
            TimeSpan.FromSeconds(30), $"{name} configured {address} over DHCP");
}
