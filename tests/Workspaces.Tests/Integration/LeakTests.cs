using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>Nothing the daemon starts for a network outlives what SQLite says: one dnsmasq per network, ever.</summary>
public sealed class LeakTests
{
    [Fact]
    public async Task Concurrent_creates_and_deletes_leave_one_dnsmasq_per_network_and_a_restart_reaps_strays()
    {
        await using var ns = await NetNamespace.CreateAsync("l");
        await using var daemon = await DaemonProcess.StartAsync(netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.62.0.0/24"));
        Assert.Single(daemon.DnsmasqPids());

        var names = Enumerable.Range(0, 10).Select(i => $"n{i}").ToArray();
        await Task.WhenAll(names.Select(n => client.CreateWorkspaceAsync(new CreateWorkspaceRequest(n, "guest", Network: "lan"))));
        var server = Assert.Single(daemon.DnsmasqPids());
        var args = File.ReadAllText($"/proc/{server}/cmdline").Split('\0');
        // Defined workspaces hold no address (leased at start): DHCP answers none of them yet.
        Assert.Equal(0, args.Count(a => a.StartsWith("--dhcp-host=", StringComparison.Ordinal)));

        await Task.WhenAll(names.Select(n => client.DeleteWorkspaceAsync(n)));
        Assert.Single(daemon.DnsmasqPids());

        // A stray, as an older daemon could leave: a dnsmasq for a network SQLite no longer has.
        string ghost = Path.Combine(daemon.StateDir, "networks", "ghost");
        Directory.CreateDirectory(ghost);
        await ns.RunAsync("dnsmasq", "--conf-file=/dev/null", "--port=0", "--interface=lo", "--bind-interfaces",
            $"--pid-file={Path.Combine(ghost, "dnsmasq.pid")}", $"--dhcp-leasefile={Path.Combine(ghost, "leases")}");
        Assert.Equal(2, daemon.DnsmasqPids().Count);
        await daemon.KillAsync();
        await daemon.StartAsync();
        await Wait.UntilAsync(() => daemon.DnsmasqPids().Count == 1, TimeSpan.FromSeconds(10), "the stray dnsmasq being reaped at start");

        await client.DeleteNetworkAsync("lan");
        await Wait.UntilAsync(() => daemon.DnsmasqPids().Count == 0, TimeSpan.FromSeconds(10), "lan's dnsmasq ending with the network");
    }
}
