using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;
using static Workspaces.Testing.PlaygroundMembers;

namespace Workspaces.Tests.Integration;

/// <summary>
/// A playground's spanning network grows to a host that joined the federation after the playground
/// was made (issue #17): three daemons in network namespaces, real test guests under TCG. A count
/// change places the new member on the new host; every host's side of the network then names the
/// other two (WireGuard peers and VXLAN head-end list), and every member reaches every other by name.
/// </summary>
public sealed class PlaygroundSpanGrowthTests(Xunit.Abstractions.ITestOutputHelper output)
{

    private static string Document(int count) => $"""
        name: lab
        network:
          subnet: 10.79.0.0/24
        placement:
          spread: true
        roles:
          node:
            image: guest
            count: {count}
            memory: 96
        """;

    private static Dictionary<string, object> Policy() => new()
    {
        ["policy"] = new Dictionary<string, object> { ["capacityCpus"] = 8, ["cpuOvercommit"] = 1, ["capacityMemoryMiB"] = 1024, ["minMemoryMiB"] = 32 },
    };

    [Fact]
    public async Task A_member_placed_on_a_host_that_joined_later_grows_the_span_to_it_and_every_member_reaches_every_other()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("wireguard-go", "wg");
        var clock = Stopwatch.StartNew();
        await using var hosts = await PeerHosts.StartAsync(3, Policy());
        var (one, two, three) = (hosts[0], hosts[1], hosts[2]);
        await PeerHosts.JoinAsync(one, two);
        foreach (var host in hosts.Hosts) await GuestImages.ImportAsync(host.Client);

        Assert.True((await one.Client.ApplyPlaygroundAsync(Document(2), yes: true)).Applied);
        Assert.Equal(["host2", ThisHost], (await one.Client.GetPlaygroundAsync("lab")).Members.Select(m => m.Host).Order(StringComparer.Ordinal));
        int vni = (await one.Client.ListNetworksAsync()).Single(n => n.Name == "lab").Vni!.Value;

        // host3 joins the federation afterwards, as a peer of both.
        await PeerHosts.JoinAsync(one, three);
        await PeerHosts.JoinAsync(two, three);
        var plan = await one.Client.ApplyPlaygroundAsync(Document(3), yes: false);
        Assert.Contains(plan.Steps, s => s is { Action: "span", Host: "host3" });
        Assert.Contains(plan.Steps, s => s is { Action: "create", Target: "lab-node-3", Host: "host3" });
        Assert.True((await one.Client.ApplyPlaygroundAsync(Document(3), yes: true)).Applied);

        var shown = await one.Client.GetPlaygroundAsync("lab");
        Assert.Equal(["host2", "host3", ThisHost], shown.Members.Select(m => m.Host).Order(StringComparer.Ordinal));
        foreach (var (host, others) in new[] { (one, "host2,host3"), (two, "host1,host3"), (three, "host1,host2") })
        {
            var lab = (await host.Client.ListNetworksAsync()).Single(n => n.Name == "lab");
            Assert.Equal(others, string.Join(',', lab.Span!.Order(StringComparer.Ordinal)));
            Assert.Equal((vni, 1370), (lab.Vni!.Value, lab.Mtu!.Value));
            // Broadcast reaches both other hosts (head-end replication), and the tunnel has both as peers.
            string fdb = (await Processes.MustAsync("ip", ["netns", "exec", host.Namespace.Name, "bridge", "fdb", "show", "dev", $"wsvx-{vni}"])).Stdout;
            Assert.Equal(2, fdb.Split('\n').Count(l => l.StartsWith("00:00:00:00:00:00 ")));
            string wg = (await Processes.MustAsync("ip", ["netns", "exec", host.Namespace.Name, "wg", "show", host.WireGuardInterface, "peers"])).Stdout;
            Assert.Equal(2, wg.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        var addresses = shown.Members.Select(m => m.Address).ToList();
        Assert.All(addresses, Assert.NotNull);
        Assert.Equal(3, addresses.Distinct().Count());
        await PingAllAsync(hosts, shown);

        await one.Client.DeletePlaygroundAsync("lab");
        foreach (var host in hosts.Hosts)
        {
            Assert.Empty(await host.Client.ListWorkspacesAsync());
            Assert.DoesNotContain(await host.Client.ListNetworksAsync(), n => n.Name == "lab");
        }
        output.WriteLine($"2 members over 2 hosts, grown to a third host, pinged and removed in {clock.Elapsed.TotalSeconds:0} s");
    }
}
