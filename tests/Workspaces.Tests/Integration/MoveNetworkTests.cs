using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// A workspace's network identity across a move (issue #13 item 7), two real daemons in their own namespaces.
/// Both hosts have a network "lan" (different subnets); only host1 has "dmz". A running guest on host1's lan,
/// with its own egress allowlist and rate limit, moves: on host2 it keeps its MAC, takes an address from host2's
/// lan, and its anti-spoofing, egress and rate rules are host2's nftables rules for it, its DHCP entry host2's
/// dnsmasq's; on host1 no rule and no DHCP entry of it remains. A workspace on "dmz" is refused before anything moves.
/// </summary>
public sealed class MoveNetworkTests : IAsyncLifetime
{
    private PeerHosts _peers = null!;

    public async Task InitializeAsync()
    {
        _peers = await PeerHosts.StartAsync(2);
        await _peers.JoinAllAsync();
        await GuestImages.ImportAsync(_peers[0].Client);
        await _peers[0].Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.72.1.0/24"));
        await _peers[0].Client.CreateNetworkAsync(new CreateNetworkRequest("dmz", "10.72.3.0/24"));
        await _peers[1].Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.72.2.0/24"));
    }

    public async Task DisposeAsync() => await _peers.DisposeAsync();

    [Theory]
    [InlineData("stateful")]
    [InlineData("live")]
    public async Task A_moved_workspace_keeps_its_mac_takes_an_address_there_and_its_rules_and_dhcp_entry_move_with_it(string mode)
    {
        var source = _peers[0];
        var destination = _peers[1];
        string name = "netted-" + mode;
        await NetworkedGuest.LaunchAsync(source.Daemon,
            new CreateWorkspaceRequest(name, "guest", 1, 128, Network: "lan", Egress: "10.72.9.0/24:80", RateKbit: 5000));
        var before = await source.Client.GetWorkspaceAsync(name);
        var nic = before.Nic!;
        Assert.StartsWith("10.72.1.", nic.Address);
        // What must go: it is there on the source before the move (so the checks after it can fail).
        string sourceRules = await RulesAsync(source);
        Assert.Contains($"workspace {before.Id}", sourceRules);
        Assert.Contains($"ether saddr != {nic.Mac}", sourceRules);
        Assert.Contains($"--dhcp-host={nic.Mac},{nic.Address}", DhcpHosts(source));

        var moved = await source.Client.MoveAsync(name, new MoveRequest("host2", mode));
        Assert.Equal("Confirm", moved.Phase);

        sourceRules = await RulesAsync(source);
        Assert.DoesNotContain(before.Id, sourceRules);
        Assert.DoesNotContain(nic.Mac, sourceRules);
        Assert.DoesNotContain(nic.Mac, DhcpHosts(source));

        // A stateful move's guest waits, saved, for its start here; a live one runs here already.
        if (mode == "stateful") await destination.Client.ActAndWaitAsync(name, "start");
        var after = await destination.Client.GetWorkspaceAsync(name);
        Assert.Equal("Running", after.State);
        var there = after.Nic!;
        Assert.Equal((before.Id, "lan", nic.Mac, nic.Egress, 5000), (after.Id, there.Network, there.Mac, there.Egress, there.RateKbit));
        Assert.StartsWith("10.72.2.", there.Address);
        string rules = await RulesAsync(destination);
        Assert.Contains($"workspace {after.Id}", rules);
        Assert.Contains($"ether saddr != {nic.Mac}", rules);
        Assert.Contains($"ip saddr != {there.Address}", rules);
        Assert.Contains("10.72.9.0/24", rules); // its egress allowlist
        Assert.Contains($"limit rate over {5000 * 1000 / 8} bytes/second", rules);
        Assert.Contains($"--dhcp-host={nic.Mac},{there.Address}", DhcpHosts(destination));
        // The guest itself holds its MAC and its new address.
        Assert.Equal(nic.Mac, (await GuestShell.RunAsync(destination.Daemon, name, "cat /sys/class/net/eth0/address")).Trim());
        Assert.Contains($"inet {there.Address}/", await GuestShell.RunAsync(destination.Daemon, name, "ip -4 addr show eth0"));
        await destination.Client.ActAndWaitAsync(name, "stop");
    }

    [Fact]
    public async Task A_workspace_on_a_network_the_peer_lacks_is_refused_before_anything_moves()
    {
        await _peers[0].Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("walled", "guest", 1, 128, Network: "dmz"));
        long before = await PeerHosts.ReceivedBytesAsync(_peers[1]);
        var e = await Assert.ThrowsAsync<ApiException>(() => _peers[0].Client.MoveAsync("walled", new MoveRequest("host2")));
        Assert.True(await PeerHosts.ReceivedBytesAsync(_peers[1]) - before < 256 * 1024);
        Assert.Equal(403, e.Status);
        Assert.Contains("no network named 'dmz'", e.Message);
        Assert.Equal("Defined", (await _peers[0].Client.GetWorkspaceAsync("walled")).State);
    }

    private static async Task<string> RulesAsync(PeerHosts.Host host) => (await host.Namespace.RunAsync("nft", "list", "ruleset")).Stdout;

    /// <summary>The DHCP entries of the host's dnsmasqs: they are on their command lines (DhcpServer).</summary>
    private static string DhcpHosts(PeerHosts.Host host) =>
        string.Join('\n', host.Daemon.DnsmasqPids().Select(pid => File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ')));
}
