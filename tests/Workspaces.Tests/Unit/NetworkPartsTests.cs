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

    /// <summary>The rules of one subject in words close to nft's own (rendered here, by the test, from the JSON), so expectations read as rules.</summary>
    private static List<string> Described(string batch, string comment) => Rules(batch, comment).Select(Describe).ToList();

    /// <summary>Rule by rule, so a failure shows the whole rule that differs (a collection diff cuts long strings short).</summary>
    private static void AssertRules(string[] expected, IReadOnlyList<string> actual)
    {
        for (int i = 0; i < Math.Max(expected.Length, actual.Count); i++)
            Assert.True(i < expected.Length && i < actual.Count && expected[i] == actual[i],
                $"rule {i}:\n  expected: {(i < expected.Length ? expected[i] : "(none)")}\n  actual:   {(i < actual.Count ? actual[i] : "(none)")}");
    }

    private static string Describe(JsonElement rule) =>
        $"{rule.GetProperty("family").GetString()} {rule.GetProperty("chain").GetString()}: " +
        string.Join(", ", rule.GetProperty("expr").EnumerateArray().Select(Expression));

    private static string Expression(JsonElement e)
    {
        var (kind, body) = e.EnumerateObject().Single() is var p ? (p.Name, p.Value) : default;
        return kind switch
        {
            "match" => $"{Left(body.GetProperty("left"))} {body.GetProperty("op").GetString()} {Value(body.GetProperty("right"))}",
            "limit" => $"limit rate {(body.TryGetProperty("inv", out var inv) && inv.GetBoolean() ? "over " : "")}{body.GetProperty("rate")} " +
                       $"{body.GetProperty("rate_unit").GetString()}/{body.GetProperty("per").GetString()} burst {body.GetProperty("burst")} {body.GetProperty("burst_unit").GetString()}",
            "dnat" => $"dnat {body.GetProperty("family").GetString()} to {body.GetProperty("addr").GetString()}:{body.GetProperty("port")}",
            "counter" => $"counter {body.GetString()}",
            "accept" or "drop" or "masquerade" => kind,
            _ => e.ToString(),
        };
    }

    private static string Left(JsonElement left)
    {
        var p = left.EnumerateObject().Single();
        return p.Name switch
        {
            "payload" => $"{p.Value.GetProperty("protocol").GetString()} {p.Value.GetProperty("field").GetString()}",
            "meta" or "ct" => $"{p.Name} {p.Value.GetProperty("key").GetString()}",
            "fib" => $"fib {string.Join(' ', p.Value.GetProperty("flags").EnumerateArray().Select(f => f.GetString()))} {p.Value.GetProperty("result").GetString()}",
            _ => left.ToString(),
        };
    }

    private static string Value(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.ToString(),
        JsonValueKind.Array => "{ " + string.Join(", ", value.EnumerateArray().Select(Value)) + " }",
        JsonValueKind.Object when value.TryGetProperty("set", out var set) => Value(set),
        JsonValueKind.Object when value.TryGetProperty("prefix", out var prefix) => $"{prefix.GetProperty("addr").GetString()}/{prefix.GetProperty("len")}",
        _ => value.ToString(),
    };

    [Fact]
    public void The_ruleset_is_the_state_written_as_rules_and_rebuilds_only_our_tables()
    {
        var networks = new[] { Net("lan", "10.1.0.0/24") };
        var nics = new[] { Nic("a", "lan", "10.1.0.2", 1000), Nic("b", "lan", "10.1.0.3", 1001) };
        string batch = FirewallRules.Build(networks, nics, []);
        var commands = JsonDocument.Parse(batch).RootElement.GetProperty("nftables").EnumerateArray().ToList();
        var tables = commands.SelectMany(c => c.EnumerateObject()).Where(p => p.Value.TryGetProperty("table", out _))
            .Select(p => $"{p.Name} {p.Value.GetProperty("table").GetProperty("family")} {p.Value.GetProperty("table").GetProperty("name")}").ToList();
        // add-then-delete makes the delete safe when the table is absent; nobody else's tables are named.
        Assert.Equal(["add bridge workspaces", "delete bridge workspaces", "add bridge workspaces", "add inet workspaces", "delete inet workspaces", "add inet workspaces"], tables);
        var chains = commands.Where(c => c.TryGetProperty("add", out var add) && add.TryGetProperty("chain", out _)).Select(c => c.GetProperty("add").GetProperty("chain"))
            .Select(c => $"{c.GetProperty("family")} {c.GetProperty("name")}: {c.GetProperty("type")} hook {c.GetProperty("hook")} priority {c.GetProperty("prio")} policy {c.GetProperty("policy")}").ToList();
        AssertRules([
            "bridge prerouting: filter hook prerouting priority -200 policy accept",
            "inet forward: filter hook forward priority 0 policy accept",
            "inet prerouting: nat hook prerouting priority -100 policy accept",
            "inet output: nat hook output priority -100 policy accept",
            "inet postrouting: nat hook postrouting priority 100 policy accept",
        ], chains);

        // Without a policy, a workspace's port admits only its own MAC, its own address (or DHCP's 0.0.0.0), and ARP for it.
        AssertRules([
            "bridge prerouting: meta iifname == wsta, ether saddr != 52:54:00:00:00:02, counter spoof-a-id, drop",
            "bridge prerouting: meta iifname == wsta, meta protocol == ip, ip saddr == 0.0.0.0, udp sport == 68, udp dport == 67, accept",
            "bridge prerouting: meta iifname == wsta, meta protocol == ip, ip saddr != 10.1.0.2, counter spoof-a-id, drop",
            "bridge prerouting: meta iifname == wsta, meta protocol == arp, arp saddr ip != { 10.1.0.2, 0.0.0.0 }, counter spoof-a-id, drop",
        ], Described(batch, "workspace a-id"));
        AssertRules([
            "bridge prerouting: meta iifname == wstb, ether saddr != 52:54:00:00:00:03, counter spoof-b-id, drop",
            "bridge prerouting: meta iifname == wstb, meta protocol == ip, ip saddr == 0.0.0.0, udp sport == 68, udp dport == 67, accept",
            "bridge prerouting: meta iifname == wstb, meta protocol == ip, ip saddr != 10.1.0.3, counter spoof-b-id, drop",
            "bridge prerouting: meta iifname == wstb, meta protocol == arp, arp saddr ip != { 10.1.0.3, 0.0.0.0 }, counter spoof-b-id, drop",
        ], Described(batch, "workspace b-id"));
        AssertRules(["inet postrouting: ip saddr == 10.1.0.0/24, meta oifname != wsbr-lan, masquerade"], Described(batch, "network lan"));
        Assert.Equal(4 + 4 + 1, commands.Count(c => c.TryGetProperty("add", out var add) && add.TryGetProperty("rule", out _))); // nothing else
    }

    [Fact]
    public void Owners_are_kept_apart_only_where_the_network_says_so()
    {
        var nics = new[] { Nic("a", "lan", "10.1.0.2", 1000), Nic("b", "lan", "10.1.0.3", 1001), Nic("c", "lan", "10.1.0.4", 1000) };
        string shared = FirewallRules.Build([Net("lan", "10.1.0.0/24")], nics, []);
        string apart = FirewallRules.Build([Net("lan", "10.1.0.0/24", isolateOwners: true)], nics, []);
        Assert.DoesNotContain(Described(shared, "workspace a-id"), r => r.Contains("obrname"));
        // Owner 1000's a may not send to owner 1001's b; to its own owner's c it may.
        Assert.Equal("bridge prerouting: meta iifname == wsta, meta obrname == wsbr-lan, meta oifname == { wstb }, drop",
            Assert.Single(Described(apart, "workspace a-id"), r => r.Contains("obrname")));
        Assert.Equal("bridge prerouting: meta iifname == wstb, meta obrname == wsbr-lan, meta oifname == { wsta, wstc }, drop",
            Assert.Single(Described(apart, "workspace b-id"), r => r.Contains("obrname")));
    }

    [Fact]
    public void Egress_allowlists_rate_limits_and_forwards_become_rules_of_their_workspace()
    {
        var nics = new[] { Nic("a", "lan", "10.1.0.2", 1000, egress: "10.9.0.0/24:80,443", rate: 1000) };
        string batch = FirewallRules.Build([Net("lan", "10.1.0.0/24")], nics,
            [new PortForwardRow { WorkspaceId = "a-id", Protocol = "tcp", HostPort = 8080, GuestPort = 80 }]);
        AssertRules([
            "bridge prerouting: meta iifname == wsta, ether saddr != 52:54:00:00:00:02, counter spoof-a-id, drop",
            "bridge prerouting: meta iifname == wsta, meta protocol == ip, ip saddr == 0.0.0.0, udp sport == 68, udp dport == 67, accept",
            "bridge prerouting: meta iifname == wsta, meta protocol == ip, ip saddr != 10.1.0.2, counter spoof-a-id, drop",
            "bridge prerouting: meta iifname == wsta, meta protocol == arp, arp saddr ip != { 10.1.0.2, 0.0.0.0 }, counter spoof-a-id, drop",
            // 1000 kbit/s = 125000 bytes a second; that second already holds a 64 KiB frame (80 KiB - 125000 < 0: no burst).
            "bridge prerouting: meta iifname == wsta, limit rate over 125000 bytes/second burst 0 bytes, counter rate-a-id, drop",
            // Egress: answers to what it opened, then the allowlist, then nothing else off the bridge.
            "inet forward: meta iifname == wsbr-lan, ip saddr == 10.1.0.2, ct state in { established, related }, accept",
            "inet forward: meta iifname == wsbr-lan, ip saddr == 10.1.0.2, ip daddr == 10.9.0.0/24, meta l4proto == { tcp, udp }, th dport == { 80, 443 }, accept",
            "inet forward: meta iifname == wsbr-lan, ip saddr == 10.1.0.2, meta oifname != wsbr-lan, counter egress-a-id, drop",
            // The host's port 8080 to the guest's 80, from outside (prerouting) and from the host itself (output).
            "inet prerouting: fib daddr type == local, tcp dport == 8080, dnat ip to 10.1.0.2:80",
            "inet output: fib daddr type == local, tcp dport == 8080, dnat ip to 10.1.0.2:80",
        ], Described(batch, "workspace a-id"));
    }

    [Fact]
    public void Violations_count_into_named_counters_that_carry_over_and_an_isolated_workspace_reaches_only_its_gateway()
    {
        var nics = new[] { Nic("a", "lan", "10.1.0.2", 1000), Nic("b", "lan", "10.1.0.3", 1001) };
        string batch = FirewallRules.Build([Net("lan", "10.1.0.0/24")], nics, [], isolated: new HashSet<string> { "a-id" },
            carried: new Dictionary<string, (long, long)> { ["spoof-a-id"] = (7, 420) });
        var counters = JsonDocument.Parse(batch).RootElement.GetProperty("nftables").EnumerateArray()
            .Where(c => c.TryGetProperty("add", out var add) && add.TryGetProperty("counter", out _)).Select(c => c.GetProperty("add").GetProperty("counter"))
            .Select(c => $"{c.GetProperty("family").GetString()} {c.GetProperty("name").GetString()} {c.GetProperty("packets")} {c.GetProperty("bytes")}").ToList();
        // One of each kind per workspace; a rebuild starts each where the kernel's stood (here: 7 packets spoofed by a).
        Assert.Equal(["bridge spoof-a-id 7 420", "bridge rate-a-id 0 0", "inet egress-a-id 0 0", "bridge spoof-b-id 0 0", "bridge rate-b-id 0 0", "inet egress-b-id 0 0"], counters);
        AssertRules([
            "bridge prerouting: meta iifname == wsta, ether saddr != 52:54:00:00:00:02, counter spoof-a-id, drop",
            "bridge prerouting: meta iifname == wsta, meta protocol == ip, ip saddr == 0.0.0.0, udp sport == 68, udp dport == 67, accept",
            "bridge prerouting: meta iifname == wsta, meta protocol == ip, ip saddr != 10.1.0.2, counter spoof-a-id, drop",
            "bridge prerouting: meta iifname == wsta, meta protocol == arp, arp saddr ip != { 10.1.0.2, 0.0.0.0 }, counter spoof-a-id, drop",
            // Quarantine: DHCP, the gateway and ARP about it; then nothing, uncounted.
            "bridge prerouting: meta iifname == wsta, meta protocol == ip, udp dport == 67, accept",
            "bridge prerouting: meta iifname == wsta, meta protocol == ip, ip daddr == 10.1.0.1, accept",
            "bridge prerouting: meta iifname == wsta, meta protocol == arp, arp daddr ip == 10.1.0.1, accept",
            "bridge prerouting: meta iifname == wsta, drop",
        ], Described(batch, "workspace a-id"));
        Assert.Equal(4, Described(batch, "workspace b-id").Count); // b is not held
        Assert.True(CounterNames.TryParse("egress-a-id", out string kind, out string id));
        Assert.Equal(("egress", "a-id"), (kind, id));
        Assert.False(CounterNames.TryParse("other-a-id", out _, out _));
        Assert.Equal(new TrafficCounters(3, 0, 5), new TrafficCounters(10, 2, 5).Since(new TrafficCounters(7, 2, 9))); // 9 -> 5: made anew, all new
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
