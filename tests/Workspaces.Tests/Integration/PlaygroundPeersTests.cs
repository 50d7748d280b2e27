using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;
using static Workspaces.Testing.PlaygroundMembers;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Playgrounds across peers (issue #17): two daemons in network namespaces, joined as peers, real test
/// guests under TCG. A playground spread over both has its members on both hosts, on one network that
/// spans them (WireGuard + VXLAN), each member naming every other; apply stays idempotent and a count
/// change adds or removes one on whichever host; a playground that does not fit leaves nothing anywhere.
/// </summary>
public sealed class PlaygroundPeersTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string Document(int count, string name = "lab", string subnet = "10.78.0.0/24", int memory = 96) => $"""
        name: {name}
        network:
          subnet: {subnet}
        placement:
          spread: true
        roles:
          node:
            image: guest
            count: {count}
            memory: {memory}
        """;

    private static Dictionary<string, object> Policy(int memoryMiB) => new()
    {
        ["policy"] = new Dictionary<string, object> { ["capacityCpus"] = 8, ["cpuOvercommit"] = 1, ["capacityMemoryMiB"] = memoryMiB, ["minMemoryMiB"] = 32 },
    };

    [Fact]
    public async Task Members_spread_over_two_hosts_reach_each_other_by_name_inside_wireguard_and_a_count_change_follows_on_either_host()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("wireguard-go", "wg", "tcpdump");
        var clock = Stopwatch.StartNew();
        await using var hosts = await PeerHosts.StartAsync(2, Policy(1024));
        var (one, two) = (hosts[0], hosts[1]);
        await PeerHosts.JoinAsync(one, two);
        await GuestImages.ImportAsync(one.Client);
        await GuestImages.ImportAsync(two.Client);

        var plan = await one.Client.ApplyPlaygroundAsync(Document(3), yes: false);
        Assert.False(plan.Applied);
        Assert.Contains(plan.Steps, s => s.Action == "span" && s.Host == "host2");
        var creates = plan.Steps.Where(s => s.Action == "create" && s.Target.StartsWith("lab-node-")).ToList();
        Assert.Equal(3, creates.Count);
        Assert.Equal(2, creates.Count(s => s.Host == ThisHost)); // spread: 2 here, 1 there
        Assert.Equal(1, creates.Count(s => s.Host == "host2"));
        Assert.All(creates, s => Assert.Contains("spread:", s.Why));
        Assert.Empty(await two.Client.ListWorkspacesAsync()); // a plan makes nothing

        Assert.True((await one.Client.ApplyPlaygroundAsync(Document(3), yes: true)).Applied);
        output.WriteLine($"applied 3 members over 2 hosts at {clock.Elapsed.TotalSeconds:0} s");
        var shown = await one.Client.GetPlaygroundAsync("lab");
        Assert.All(shown.Members, m => Assert.Equal(WorkspaceStates.Running, m.State));
        Assert.All(shown.Members, m => Assert.NotNull(m.Address));
        Assert.Equal(shown.Members.Length, shown.Members.Select(m => m.Address).Distinct().Count());
        var remote = Assert.Single(shown.Members, m => m.Host == "host2");
        Assert.Contains(await two.Client.ListWorkspacesAsync(), w => w.Name == remote.Name); // `ws list` on host2 shows it
        Assert.Equal(["host1"], (await two.Client.ListNetworksAsync()).Single(n => n.Name == "lab").Span!); // host2's side spans host1

        string pcap = Path.Combine(Path.GetTempPath(), $"pgpeers-{one.Namespace.Name}.pcap");
        await using (var capture = await PacketCapture.StartAsync(one.Namespace.Name, one.Interface, pcap))
            await PingAllAsync(hosts, shown);
        try
        {
            int wireGuard = await PacketCapture.CountAsync(pcap, "udp port 51820");
            output.WriteLine($"underlay capture: {wireGuard} WireGuard packets, {await PacketCapture.CountAsync(pcap, "")} in all; members {string.Join(", ", shown.Members.Select(m => $"{m.Name}@{m.Host}={m.Address}"))}");
            Assert.True(wireGuard >= 8, $"members' pings crossed the underlay as WireGuard ({wireGuard} packets)");
            Assert.Equal(0, await PacketCapture.CountAsync(pcap, "icmp"));
        }
        finally
        {
            File.Delete(pcap);
        }

        // A member of another playground (this host only) reaches none of lab's members.
        await one.Client.ApplyPlaygroundAsync(Document(1, "other", "10.79.0.0/24").Replace("placement:\n  spread: true\n", ""), yes: true);
        await GuestShell.RunAsync(one.Daemon, "other-node-1", "ping -c 1 -W 3 10.79.0.1"); // its own gateway: its network works
        foreach (var m in shown.Members)
            await Assert.ThrowsAsync<GuestCommandException>(() => GuestShell.RunAsync(one.Daemon, "other-node-1", $"ping -c 2 -W 2 {m.Address}"));
        await one.Client.DeletePlaygroundAsync("other");

        // The same document again changes nothing, on either host.
        var again = await one.Client.ApplyPlaygroundAsync(Document(3), yes: true);
        Assert.True(again.Unchanged);
        Assert.All(again.Steps, s => Assert.Equal("keep", s.Action));

        // 3 -> 4: one more, on host2 (spread evens the hosts), and every member learns its name.
        var grown = await one.Client.ApplyPlaygroundAsync(Document(4), yes: true);
        Assert.Equal("host2", Assert.Single(grown.Steps, s => s.Action == "create").Host);
        shown = await one.Client.GetPlaygroundAsync("lab");
        Assert.Equal(4, shown.Members.Length);
        await PingAllAsync(hosts, shown);

        // 4 -> 3: lab-node-4 goes from its host, and from the others' /etc/hosts.
        var shrunk = await one.Client.ApplyPlaygroundAsync(Document(3), yes: true);
        Assert.Equal("lab-node-4", Assert.Single(shrunk.Steps, s => s.Action == "remove").Target);
        Assert.DoesNotContain(await two.Client.ListWorkspacesAsync(), w => w.Name == "lab-node-4");
        Assert.DoesNotContain(await one.Client.ListWorkspacesAsync(), w => w.Name == "lab-node-4");
        shown = await one.Client.GetPlaygroundAsync("lab");
        foreach (var m in shown.Members)
            Assert.DoesNotContain("lab-node-4", await GuestShell.RunAsync(DaemonOf(hosts, m), m.Name, "cat /etc/hosts"));

        await one.Client.DeletePlaygroundAsync("lab");
        Assert.Empty(await one.Client.ListWorkspacesAsync());
        Assert.Empty(await two.Client.ListWorkspacesAsync());
        Assert.DoesNotContain(await two.Client.ListNetworksAsync(), n => n.Name == "lab");
        output.WriteLine($"whole test {clock.Elapsed.TotalSeconds:0} s");
    }

    [Fact]
    public async Task Over_three_hosts_each_host_holds_a_member_and_every_member_names_every_other()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("wireguard-go", "wg");
        var clock = Stopwatch.StartNew();
        await using var hosts = await PeerHosts.StartAsync(3, Policy(1024));
        await hosts.JoinAllAsync();
        foreach (var host in hosts.Hosts) await GuestImages.ImportAsync(host.Client);

        // on: names the hosts (self is this one); spread puts one member on each.
        string document = Document(3).Replace("  spread: true\n", "  spread: true\n  on: [self, host2, host3]\n");

        // host3 has a network in the way: the apply fails there, after host2's side of the network was made; it is undone.
        await hosts[2].Client.CreateNetworkAsync(new CreateNetworkRequest("x", "10.78.0.0/16"));
        var refused = await Assert.ThrowsAsync<ApiException>(() => hosts[0].Client.ApplyPlaygroundAsync(document, yes: true));
        Assert.Contains("peer 'host3'", refused.Message);
        foreach (var host in hosts.Hosts)
        {
            Assert.DoesNotContain(await host.Client.ListNetworksAsync(), n => n.Name == "lab");
            Assert.Empty(await host.Client.ListWorkspacesAsync());
        }
        Assert.Empty(await hosts[0].Client.ListPlaygroundsAsync());
        await hosts[2].Client.DeleteNetworkAsync("x");

        Assert.True((await hosts[0].Client.ApplyPlaygroundAsync(document, yes: true)).Applied);
        var shown = await hosts[0].Client.GetPlaygroundAsync("lab");
        Assert.Equal(["host2", "host3", ThisHost], shown.Members.Select(m => m.Host).Order(StringComparer.Ordinal));
        // host3's side of the network spans the applying host and the other peer.
        Assert.Equal(["host1", "host2"], (await hosts[2].Client.ListNetworksAsync()).Single(n => n.Name == "lab").Span!.Order(StringComparer.Ordinal));
        await PingAllAsync(hosts, shown);
        await hosts[0].Client.DeletePlaygroundAsync("lab");
        foreach (var host in hosts.Hosts) Assert.Empty(await host.Client.ListWorkspacesAsync());
        output.WriteLine($"3 members over 3 hosts, applied, pinged and removed in {clock.Elapsed.TotalSeconds:0} s");
    }

    [Fact]
    public async Task A_playground_that_fits_on_no_host_for_one_member_leaves_nothing_on_any_host()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("wireguard-go", "wg");
        // Room for two members of 96 MiB on host1 and one on host2: the fourth fits nowhere.
        await using var hosts = await PeerHosts.StartAsync(2, perHost: i => new PeerHosts.HostOptions(Policy(i == 1 ? 250 : 150)));
        var (one, two) = (hosts[0], hosts[1]);
        await PeerHosts.JoinAsync(one, two);
        await GuestImages.ImportAsync(one.Client);
        await GuestImages.ImportAsync(two.Client);

        var refused = await Assert.ThrowsAsync<ApiException>(() => one.Client.ApplyPlaygroundAsync(Document(4), yes: true));
        Assert.Equal(409, refused.Status);
        Assert.Contains("lab-node-4", refused.Message);
        Assert.Contains("fits on no host", refused.Message);
        Assert.Contains("nothing was created", refused.Message);
        foreach (var host in new[] { one, two })
        {
            Assert.Empty(await host.Client.ListWorkspacesAsync());
            Assert.DoesNotContain(await host.Client.ListNetworksAsync(), n => n.Name == "lab");
        }
        Assert.Empty(await one.Client.ListPlaygroundsAsync());

        // Three fit (two here, one there): the same hosts take them.
        var plan = await one.Client.ApplyPlaygroundAsync(Document(3), yes: false);
        Assert.Equal(1, plan.Steps.Count(s => s.Action == "create" && s.Host == "host2"));
    }

    [Fact]
    public async Task Save_and_restore_keep_every_member_counting_across_hosts_and_a_member_lost_with_its_host_is_named_and_made_again_here()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("wireguard-go", "wg");
        var clock = Stopwatch.StartNew();
        await using var hosts = await PeerHosts.StartAsync(2, Policy(1024));
        var (one, two) = (hosts[0], hosts[1]);
        await PeerHosts.JoinAsync(one, two);
        await GuestImages.ImportAsync(one.Client);
        await GuestImages.ImportAsync(two.Client);
        await one.Client.ApplyPlaygroundAsync(Document(2), yes: true);
        var shown = await one.Client.GetPlaygroundAsync("lab");
        var there = Assert.Single(shown.Members, m => m.Host == "host2");
        Assert.Single(shown.Members, m => m.Host == ThisHost);

        // A counter in each member, once a second, detached from the command that starts it; written then renamed, so a read never sees it empty.
        foreach (var m in shown.Members)
            await GuestShell.RunAsync(DaemonOf(hosts, m), m.Name,
                "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /root/count.new; mv /root/count.new /root/count; sleep 1; done' </dev/null >/dev/null 2>&1 &");
        async Task<int> Count(PlaygroundMemberInfo m) => int.Parse((await GuestShell.RunAsync(DaemonOf(hosts, m), m.Name, "cat /root/count")).Trim());
        foreach (var m in shown.Members) await Wait.UntilAsync(async () => await Count(m) >= 3, TimeSpan.FromSeconds(60), $"{m.Name} counting");
        var before = new Dictionary<string, int>();
        foreach (var m in shown.Members) before[m.Name] = await Count(m);

        var saved = await one.Client.ActOnPlaygroundAsync("lab", "save");
        Assert.All(saved.Members, m => Assert.Equal(WorkspaceStates.Saved, m.State));
        Assert.Equal(WorkspaceStates.Saved, (await two.Client.GetWorkspaceAsync(there.Name)).State); // saved on its own host
        var restored = await one.Client.ActOnPlaygroundAsync("lab", "restore");
        Assert.All(restored.Members, m => Assert.Equal(WorkspaceStates.Running, m.State));
        foreach (var m in shown.Members)
        {
            int after = await Count(m);
            Assert.True(after >= before[m.Name], $"{m.Name} went on from {before[m.Name]}, not from the start (now {after})");
            // Still counting: the process lived through save and restore (a fresh boot would have none).
            await Wait.UntilAsync(async () => await Count(m) > after, TimeSpan.FromSeconds(30), $"{m.Name} counting after restore");
        }
        await PingAllAsync(hosts, shown);
        output.WriteLine($"saved and restored across 2 hosts by {clock.Elapsed.TotalSeconds:0} s");

        // host2 dies: its daemon and its QEMU, kill -9.
        var qemus = two.Daemon.QemuPids().ToList();
        Assert.NotEmpty(qemus);
        await two.Daemon.KillAsync();
        foreach (int pid in qemus) await Processes.RunAsync("kill", ["-9", pid.ToString()]);
        var lost = Assert.Single((await one.Client.GetPlaygroundAsync("lab")).Members, m => m.Name == there.Name);
        Assert.Equal("host2", lost.Host);
        Assert.Equal("Unreachable", lost.State);
        Assert.Contains("host2", lost.Reason);

        // apply again: the lost member is forgotten and made again on the host that is left.
        var healed = await one.Client.ApplyPlaygroundAsync(Document(2), yes: true);
        Assert.Equal("host2", Assert.Single(healed.Steps, s => s.Action == "forget" && s.Target == there.Name).Host);
        Assert.Equal(ThisHost, Assert.Single(healed.Steps, s => s.Action == "create" && s.Target == there.Name).Host);
        shown = await one.Client.GetPlaygroundAsync("lab");
        Assert.All(shown.Members, m => Assert.Equal((ThisHost, WorkspaceStates.Running), (m.Host, m.State)));
        await PingAllAsync(hosts, shown);
        await one.Client.DeletePlaygroundAsync("lab"); // host2's side of the network is left with host2
        Assert.Empty(await one.Client.ListWorkspacesAsync());
        output.WriteLine($"whole test {clock.Elapsed.TotalSeconds:0} s");
    }
}
