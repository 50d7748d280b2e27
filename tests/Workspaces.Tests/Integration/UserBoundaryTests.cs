using System.Text.Json;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// What an admitted ordinary user may do to the host's network: forward only unprivileged, free
/// ports in the host's range, see only their own NICs, never make a network. The daemon lives in a
/// network namespace the test makes, so its bridges, rules and the test's listener stay there.
/// </summary>
public sealed class UserBoundaryTests
{
    [Fact]
    public async Task Users_forward_only_free_ports_in_the_range_see_only_their_nics_and_make_no_network()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var ns = await NetNamespace.CreateAsync("u");
        await using var daemon = await DaemonProcess.StartAsync(new()
        {
            ["allowUsers"] = true,
            ["policy"] = new Dictionary<string, object> { ["userPortRange"] = "20000-20099" },
        }, ns.Name);
        File.SetUnixFileMode(daemon.Dir, (UnixFileMode)Convert.ToInt32("755", 8));
        var root = daemon.Client;
        await GuestImages.ImportAsync(root);

        // No "default" network yet: a user's workspace may not bring one (bridge, NAT, forwarding) into being.
        var implicitNetwork = await user.WsAsync(daemon.Socket, "create", "guest", "mine", "--network");
        Assert.Equal(1, implicitNetwork.ExitCode);
        Assert.Contains("only root and the workspaces group may create networks", implicitNetwork.Stderr);
        Assert.Empty(await root.ListNetworksAsync());
        Assert.Empty(await root.ListWorkspacesAsync());

        await root.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.61.0.0/24"));
        await root.CreateWorkspaceAsync(new CreateWorkspaceRequest("roots", "guest", Network: "lan"));
        var created = await user.WsAsync(daemon.Socket, "create", "guest", "mine", "--network", "lan");
        Assert.True(created.ExitCode == 0, created.Stderr);

        async Task RefusedAsync(string ports, string why)
        {
            var r = await user.WsAsync(daemon.Socket, "expose", "mine", ports);
            Assert.True(r.ExitCode == 1, $"expose {ports} was allowed: {r.Stdout}");
            Assert.Contains(why, r.Stderr);
        }
        await RefusedAsync("22:22", "host port 22 is privileged");
        await RefusedAsync("30000:80", "outside the ports users may forward (20000-20099)");
        ns.Start("busybox", "nc", "-l", "-p", "20001");
        await Wait.UntilAsync(async () => (await ns.RunAsync("cat", "/proc/net/tcp", "/proc/net/tcp6")).Stdout.Split('\n')
                .Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var local, _, "0A", ..] && local.EndsWith(":4E21")),
            TimeSpan.FromSeconds(10), "the test listener on port 20001");
        await RefusedAsync("20001:80", "host port tcp/20001 is already in use by a process on the host");
        var allowed = await user.WsAsync(daemon.Socket, "expose", "mine", "20002:80");
        Assert.True(allowed.ExitCode == 0, allowed.Stderr);
        await root.ExposeAsync("roots", new ExposeRequest(22, 22)); // admins keep full power

        // The user sees the network and their own NIC; not root's, not the leases, not the others' rules.
        var shown = await user.WsAsync(daemon.Socket, "network", "show", "lan", "--json");
        Assert.Equal(0, shown.ExitCode);
        var network = JsonDocument.Parse(shown.Stdout).RootElement;
        Assert.Equal(["mine"], network.GetProperty("nics").EnumerateArray().Select(n => n.GetProperty("workspace").GetString()!).ToArray());
        Assert.DoesNotContain("roots", shown.Stdout);
        Assert.DoesNotContain((await root.GetWorkspaceAsync("roots")).Nic!.Mac, shown.Stdout);

        // Rules read as nft prints them, not as its JSON; a workspace has rules while it runs (its address is leased at start).
        using var asUser = new WorkspacesClient(daemon.Socket) { Owner = user.Uid }; // names are per owner
        await asUser.ActAndWaitAsync("mine", "start");
        var rules = (await asUser.GetWorkspaceAsync("mine")).Nic!.Rules!;
        Assert.Contains(rules, r => r.StartsWith("bridge prerouting: ", StringComparison.Ordinal) && r.Contains("ether saddr != "));
        Assert.Contains(rules, r => r.Contains("dport 20002 dnat"));
        Assert.DoesNotContain(rules, r => r.Contains("\"match\"")); // nft's JSON says {"match": ...}
    }
}
