using System.Text.Json;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;

namespace Workspaces.Tests.Unit;

public sealed class NetworkPartsTests
{
    private static NetworkRow Net(string name, string subnet, bool isolateOwners = false, string egress = "") => new()
    {
        Name = name, Bridge = "wsbr-" + name, Subnet = subnet, Gateway = Subnet.Parse(subnet).Gateway.ToString(), Nat = true,
        IsolateOwners = isolateOwners, Egress = egress,
    };

    private static NicRow Nic(string workspace, string network, string address, uint owner, string? egress = null, int? rate = null) => new()
    {
        WorkspaceId = workspace + "-id", WorkspaceName = workspace, Network = network, Address = address, Owner = owner,
        Mac = "52:54:00:00:00:0" + address[^1], Tap = "wst" + workspace, Egress = egress, RateKbit = rate,
    };

    private static List<JsonElement> Rules(string batch, string comment) =>
        JsonDocument.Parse(batch).RootElement.GetProperty("nftables").EnumerateArray()
            .Where(c => c.TryGetProperty("add", out var add) && add.TryGetProperty("rule", out var r) && r.GetProperty("comment").GetString() == comment)
            .Select(c => c.GetProperty("add").GetProperty("rule")).ToList();

    [Fact]
    public void The_ruleset_is_a_pure_function_of_the_state_and_rebuilds_only_our_tables()
    {
        var networks = new[] { Net("lan", "10.1.0.0/24") };
        var nics = new[] { Nic("a", "lan", "10.1.0.2", 1000), Nic("b", "lan", "10.1.0.3", 1001) };
        string once = FirewallRules.Build(networks, nics, []), again = FirewallRules.Build(networks, nics, []);
        Assert.Equal(once, again);
        var tables = JsonDocument.Parse(once).RootElement.GetProperty("nftables").EnumerateArray()
            .SelectMany(c => c.EnumerateObject()).Where(p => p.Value.TryGetProperty("table", out _))
            .Select(p => $"{p.Name} {p.Value.GetProperty("table").GetProperty("family")} {p.Value.GetProperty("table").GetProperty("name")}").ToList();
        Assert.Equal(["add bridge workspaces", "delete bridge workspaces", "add bridge workspaces", "add inet workspaces", "delete inet workspaces", "add inet workspaces"], tables);
        Assert.Equal(4, Rules(once, "workspace a-id").Count); // MAC, DHCP, IP, ARP: nothing more without a policy
        Assert.Single(Rules(once, "network lan")); // masquerade
    }

    [Fact]
    public void Owners_are_kept_apart_only_where_the_network_says_so()
    {
        var nics = new[] { Nic("a", "lan", "10.1.0.2", 1000), Nic("b", "lan", "10.1.0.3", 1001), Nic("c", "lan", "10.1.0.4", 1000) };
        string shared = FirewallRules.Build([Net("lan", "10.1.0.0/24")], nics, []);
        string apart = FirewallRules.Build([Net("lan", "10.1.0.0/24", isolateOwners: true)], nics, []);
        Assert.DoesNotContain("obrname", shared);
        var rule = Rules(apart, "workspace a-id").Single(r => r.GetProperty("expr").ToString().Contains("obrname"));
        Assert.Contains("wstb", rule.ToString());      // the other owner's port
        Assert.DoesNotContain("wstc", rule.ToString()); // not the same owner's
    }

    [Fact]
    public void Egress_allowlists_rate_limits_and_forwards_become_rules_of_their_workspace()
    {
        var nics = new[] { Nic("a", "lan", "10.1.0.2", 1000, egress: "10.9.0.0/24:80,443", rate: 1000) };
        string batch = FirewallRules.Build([Net("lan", "10.1.0.0/24")], nics,
            [new PortForwardRow { WorkspaceId = "a-id", Protocol = "tcp", HostPort = 8080, GuestPort = 80 }]);
        var rules = Rules(batch, "workspace a-id").Select(r => r.ToString()).ToList();
        Assert.Contains(rules, r => r.Contains("\"limit\"") && r.Contains("125000"));
        Assert.Contains(rules, r => r.Contains("10.9.0.0") && r.Contains("443") && r.Contains("accept"));
        Assert.Contains(rules, r => r.Contains("\"drop\"") && r.Contains("oifname") && r.Contains("!="));
        Assert.Equal(2, rules.Count(r => r.Contains("dnat") && r.Contains("8080")));
        Assert.DoesNotContain(rules, r => r.Contains("10.1.0.99"));
    }

    [Fact]
    public void Egress_and_subnets_parse_strictly()
    {
        Assert.Equal("10.9.0.0/24:80,443 192.0.2.7/32", Egress.Normalize("10.9.0.0/24:443,80,80   192.0.2.7"));
        Assert.Throws<WorkspacesException>(() => Egress.Normalize("10.9.0.1/24"));   // host bits set
        Assert.Throws<WorkspacesException>(() => Egress.Normalize("10.9.0.0/24:0"));
        var subnet = Subnet.Parse("10.87.0.0/29");
        Assert.Equal("10.87.0.1", subnet.Gateway.ToString());
        Assert.Equal(["10.87.0.2", "10.87.0.3", "10.87.0.4", "10.87.0.5", "10.87.0.6"], subnet.Hosts().Select(h => h.ToString()));
        Assert.Throws<WorkspacesException>(() => Subnet.Parse("10.87.0.0/30"));
        Assert.Throws<WorkspacesException>(() => Subnet.Parse("fd00::/64"));
        Assert.Throws<WorkspacesException>(() => Subnet.Parse("10.87.0.5/24"));
    }
}
