using System.Diagnostics;
using System.Text.Json;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Networks and their traffic policy on real guests, with the daemon inside a network namespace the
/// test makes (so its bridges and nftables rules never touch the host's network), and test servers
/// in a second namespace linked to it: "the outside".
/// </summary>
public sealed class NetworkTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Workspaces_on_one_network_reach_each_other_and_the_gateway_but_not_with_a_forged_address()
    {
        await using var ns = await NetNamespace.CreateAsync("h");
        await using var daemon = await DaemonProcess.StartAsync(netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        string cmdline = (await TestGuest.GetAsync()).Cmdline;
        // No network made beforehand: "default" (NAT) is made on first use.
        await NetworkedGuest.LaunchAsync(daemon, new CreateWorkspaceRequest("a", "guest", Network: "default"));                          // static, on the command line
        await NetworkedGuest.LaunchAsync(daemon, new CreateWorkspaceRequest("b", "guest", Cmdline: $"{cmdline} ip=dhcp", Network: "default")); // DHCP from dnsmasq
        var network = await client.GetNetworkAsync("default");
        Assert.True(network.Nat);
        var a = (await client.GetWorkspaceAsync("a")).Nic!;
        var b = (await client.GetWorkspaceAsync("b")).Nic!;
        Assert.Equal(("10.87.0.2", "10.87.0.3"), (a.Address, b.Address));
        Assert.Contains($"inet {b.Address}/24", await GuestShell.RunAsync(daemon, "b", "ip addr show eth0"));
        Assert.Contains(b.Mac, network.Leases!.Single());

        await GuestShell.RunAsync(daemon, "a", $"ping -c 2 -W 3 {b.Address}");
        await GuestShell.RunAsync(daemon, "b", $"ping -c 2 -W 3 {a.Address}");
        await GuestShell.RunAsync(daemon, "a", "ping -c 2 -W 3 10.87.0.1");

        // b takes another address: its packets are dropped at its port of the bridge.
        await GuestShell.RunAsync(daemon, "b", $"ip addr flush dev eth0; ip addr add 10.87.0.99/24 dev eth0");
        var forgedIp = await Assert.ThrowsAsync<GuestCommandException>(() => GuestShell.RunAsync(daemon, "b", $"ping -c 2 -W 2 {a.Address}"));
        Assert.Contains("0 packets received", forgedIp.Output);
        await GuestShell.RunAsync(daemon, "b", $"ip addr flush dev eth0; ip addr add {b.Address}/24 dev eth0; ping -c 1 -W 3 {a.Address}");

        // ... and the same for another MAC.
        await GuestShell.RunAsync(daemon, "b", "ip link set eth0 down; ip link set eth0 address 52:54:00:00:00:99; ip link set eth0 up; ip neigh flush all");
        var forgedMac = await Assert.ThrowsAsync<GuestCommandException>(() => GuestShell.RunAsync(daemon, "b", $"ping -c 2 -W 2 {a.Address}"));
        Assert.Contains("0 packets received", forgedMac.Output);
    }

    [Fact]
    public async Task Egress_allowlist_port_forward_and_rate_limit_hold_against_the_outside()
    {
        await using var host = await NetNamespace.CreateAsync("h");
        await using var outside = await NetNamespace.CreateAsync("o");
        await host.LinkAsync(outside, "10.62.9");
        string dir = Directory.CreateTempSubdirectory("ws-net-").FullName;
        foreach (int port in new[] { 7001, 7002 })
        {
            string reply = Path.Combine(dir, $"reply{port}");
            await File.WriteAllTextAsync(reply, $"#!/bin/sh\necho reached-{port}\n");
            File.SetUnixFileMode(reply, (UnixFileMode)0b111_101_101);
            outside.Start("busybox", "nc", "-ll", "-p", port.ToString(), "-e", reply);
        }
        outside.Start("busybox", "nc", "-l", "-p", "7003", "-e", "wc", "-c"); // counts what arrives and says so

        await using var daemon = await DaemonProcess.StartAsync(netns: host.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateNetworkAsync(new CreateNetworkRequest("wan", "10.62.0.0/24", Nat: true));
        await NetworkedGuest.LaunchAsync(daemon, new CreateWorkspaceRequest("narrow", "guest", Network: "wan", Egress: "10.62.9.0/24:7001"));
        await NetworkedGuest.LaunchAsync(daemon, new CreateWorkspaceRequest("slow", "guest", Network: "wan", RateKbit: 2000));

        // Egress: port 7001 of the outside server is allowed, 7002 is not; without an allowlist both are.
        Assert.Contains("reached-7001", await GuestShell.RunAsync(daemon, "narrow", "echo | nc -w 3 10.62.9.2 7001"));
        // Dropped, not refused: the connection attempt times out in the guest (busybox nc -w 3 says so and exits 1).
        var blocked = await Assert.ThrowsAsync<GuestCommandException>(() => GuestShell.RunAsync(daemon, "narrow", "echo | nc -w 3 10.62.9.2 7002"));
        Assert.Equal((1, "nc: timed out"), (blocked.Code, blocked.Output.Trim()));
        Assert.Contains("reached-7002", await GuestShell.RunAsync(daemon, "slow", "echo | nc -w 3 10.62.9.2 7002"));

        // A port forward from the host reaches a listener in the guest, from the outside namespace.
        await GuestShell.RunAsync(daemon, "narrow", "printf '#!/bin/sh\\necho hello-from-guest\\n' > /tmp/hello; chmod +x /tmp/hello; (nc -ll -p 8080 -e /tmp/hello &); " +
            "for i in $(seq 30); do netstat -ltn | grep -q ':8080 ' && break; sleep 0.2; done; netstat -ltn | grep -q ':8080 '");
        var exposed = await client.ExposeAsync("narrow", new ExposeRequest(18080, 8080));
        Assert.Equal(["tcp/18080->8080"], exposed.Nic!.Forwards);
        Assert.Contains("hello-from-guest", (await outside.RunAsync("busybox", "nc", "-w", "3", "10.62.9.1", "18080")).Stdout);
        Assert.Contains("hello-from-guest", (await host.RunAsync("busybox", "nc", "-w", "3", "10.62.9.1", "18080")).Stdout); // from the host itself

        // The rate limit: 4 MiB out of the guest at 2000 kbit/s takes about 16.8 s; within ±15%.
        // (nft lets one second of the rate through at once, about 6% of this transfer.)
        const int kib = 4096;
        var clock = Stopwatch.StartNew();
        string received = await GuestShell.RunAsync(daemon, "slow", $"dd if=/dev/zero bs=1024 count={kib} 2>/dev/null | nc 10.62.9.2 7003", TimeSpan.FromSeconds(120));
        double seconds = clock.Elapsed.TotalSeconds;
        Assert.Equal((kib * 1024).ToString(), received.Trim());
        double kbit = kib * 1024 * 8 / 1000.0 / seconds;
        output.WriteLine($"rate limit 2000 kbit/s: {kib} KiB in {seconds:0.00} s = {kbit:0} kbit/s ({kbit / 2000:0.00}x)");
        Assert.InRange(kbit, 2000 * 0.85, 2000 * 1.15);
    }

    [Fact]
    public async Task Isolated_networks_do_not_reach_each_other_and_rules_follow_sqlite_across_rm_and_restart()
    {
        await using var ns = await NetNamespace.CreateAsync("h");
        await using var daemon = await DaemonProcess.StartAsync(netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateNetworkAsync(new CreateNetworkRequest("red", "10.63.1.0/24", Nat: true));
        await client.CreateNetworkAsync(new CreateNetworkRequest("blue", "10.63.2.0/24", Isolated: true));
        await NetworkedGuest.LaunchAsync(daemon, new CreateWorkspaceRequest("r1", "guest", Network: "red"));
        await NetworkedGuest.LaunchAsync(daemon, new CreateWorkspaceRequest("b1", "guest", Network: "blue"));

        await GuestShell.RunAsync(daemon, "r1", "ping -c 1 -W 3 10.63.1.1");   // its own gateway
        await GuestShell.RunAsync(daemon, "b1", "ping -c 1 -W 3 10.63.2.1");
        var across = await Assert.ThrowsAsync<GuestCommandException>(() => GuestShell.RunAsync(daemon, "r1", "ping -c 2 -W 2 10.63.2.2"));
        Assert.Contains("0 packets received", across.Output);
        var back = await Assert.ThrowsAsync<GuestCommandException>(() => GuestShell.RunAsync(daemon, "b1", "ping -c 2 -W 2 10.63.1.2"));
        Assert.Contains("0 packets received", back.Output);

        var inUse = await Assert.ThrowsAsync<ApiException>(() => client.DeleteNetworkAsync("red"));
        Assert.Equal(409, inUse.Status);
        Assert.Contains("r1", inUse.Message);
        var overlapping = await Assert.ThrowsAsync<ApiException>(() => client.CreateNetworkAsync(new CreateNetworkRequest("pink", "10.63.1.128/25")));
        Assert.Equal(409, overlapping.Status);
        var typo = await Assert.ThrowsAsync<ApiException>(() => client.CreateNetworkAsync(new CreateNetworkRequest("pink", "10.63.3.1/24")));
        Assert.Equal(400, typo.Status);

        var (b1, r1) = (await client.GetWorkspaceAsync("b1"), await client.GetWorkspaceAsync("r1"));
        string tap = b1.Nic!.Tap;
        Assert.Contains(tap, await RulesetAsync(ns));
        Assert.Contains($"\"comment\":\"workspace {b1.Id}\"", await RulesetAsync(ns)); // rules name the workspace by id (host-wide); nft's JSON
        await client.DeleteWorkspaceAsync("b1", force: true);
        string afterRm = await RulesetAsync(ns);
        Assert.DoesNotContain(tap, afterRm);
        Assert.DoesNotContain($"workspace {b1.Id}", afterRm);
        Assert.Contains($"workspace {r1.Id}", afterRm);

        await daemon.KillAsync();
        await ns.RunAsync("nft", "delete", "table", "inet", "workspaces"); // drift the daemon must repair
        await daemon.StartAsync();
        Assert.Equal(afterRm, await RulesetAsync(ns));
        await GuestShell.RunAsync(daemon, "r1", "ping -c 1 -W 3 10.63.1.1"); // re-attached, still on its network
    }

    /// <summary>
    /// The namespace's whole ruleset as nft prints it in JSON, without the kernel's object handles
    /// (a table made again gets new ones; the rules are what must be the same).
    /// </summary>
    private static async Task<string> RulesetAsync(NetNamespace ns)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse((await ns.RunAsync("nft", "-j", "list", "ruleset")).Stdout)!;
        foreach (var item in json["nftables"]!.AsArray())
            foreach (var (_, body) in item!.AsObject())
                if (body is System.Text.Json.Nodes.JsonObject o) o.Remove("handle");
        return json.ToJsonString();
    }
}
