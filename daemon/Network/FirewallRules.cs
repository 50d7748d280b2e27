using System.Text.Json.Nodes;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Network;

/// <summary>
/// The whole traffic policy, derived from SQLite alone, as one libnftables JSON batch: the daemon's
/// own two tables (bridge and inet "workspaces") are dropped and rebuilt in a single transaction,
/// so the kernel holds either the old policy or the new one, never a mix, and the same state always
/// gives byte-identical rules. Nobody else's tables are touched.
///   bridge workspaces / prerouting: every frame a workspace sends: its own MAC and IP only
///     (anti-spoofing), its rate limit, and owner isolation on shared networks;
///   inet workspaces / forward: egress allowlists, isolation between networks, isolated networks;
///   inet workspaces / prerouting, output (nat): port forwards from the host; postrouting: masquerade.
/// Each workspace's rules carry the comment "workspace ID", so they can be found and shown.
/// Every drop that is a violation (anti-spoofing, egress allowlist, rate limit) counts into a named
/// counter of the workspace (CounterNames); a rebuild carries their values over, so they only rise.
/// A workspace in quarantine (isolate) may then send only to its gateway and to DHCP.
/// </summary>
public static class FirewallRules
{
    public const string Table = "workspaces";

    /// <param name="isolated">Ids of the workspaces in quarantine by isolation.</param>
    /// <param name="carried">Counter values to start from, by counter name (those read just before the rebuild).</param>
    public static string Build(IReadOnlyList<NetworkRow> networks, IReadOnlyList<NicRow> nics, IReadOnlyList<PortForwardRow> forwards,
        IReadOnlySet<string>? isolated = null, IReadOnlyDictionary<string, (long Packets, long Bytes)>? carried = null)
    {
        var batch = new JsonArray();
        foreach (var family in new[] { "bridge", "inet" })
        {
            batch.Add((JsonNode)Command("add", "table", new() { ["family"] = family, ["name"] = Table }));
            batch.Add((JsonNode)Command("delete", "table", new() { ["family"] = family, ["name"] = Table }));
            batch.Add((JsonNode)Command("add", "table", new() { ["family"] = family, ["name"] = Table }));
        }
        Chain(batch, "bridge", "prerouting", "filter", "prerouting", -200);
        Chain(batch, "inet", "forward", "filter", "forward", 0);
        Chain(batch, "inet", "prerouting", "nat", "prerouting", -100);
        Chain(batch, "inet", "output", "nat", "output", -100);
        Chain(batch, "inet", "postrouting", "nat", "postrouting", 100);

        var byNetwork = networks.ToDictionary(n => n.Name);
        foreach (var nic in nics)
        {
            // Only leased NICs (running workspaces) are given; a NIC with no address has no tap and nothing to allow.
            if (nic.Address is not { } address) continue;
            var network = byNetwork[nic.Network];
            string who = $"workspace {nic.WorkspaceId}";
            JsonObject From() => Match("meta", "iifname", nic.Tap); // a JSON node has one parent: a fresh one per rule
            string spoof = CounterNames.Of(CounterNames.Spoof, nic.WorkspaceId);
            string rate = CounterNames.Of(CounterNames.Rate, nic.WorkspaceId);
            string egressCounter = CounterNames.Of(CounterNames.Egress, nic.WorkspaceId);
            Counter(batch, "bridge", spoof, carried);
            Counter(batch, "bridge", rate, carried);
            Counter(batch, "inet", egressCounter, carried);
            Rule(batch, "bridge", "prerouting", who, From(), Match("ether", "saddr", nic.Mac, "!="), Count(spoof), Drop());
            // Before it has an address, a DHCP client sends from 0.0.0.0 (and probes with ARP from it).
            Rule(batch, "bridge", "prerouting", who, From(), Match("meta", "protocol", "ip"), Match("ip", "saddr", "0.0.0.0"),
                Match("udp", "sport", 68), Match("udp", "dport", 67), Accept());
            Rule(batch, "bridge", "prerouting", who, From(), Match("meta", "protocol", "ip"), Match("ip", "saddr", address, "!="), Count(spoof), Drop());
            Rule(batch, "bridge", "prerouting", who, From(), Match("meta", "protocol", "arp"), MatchSet("arp", "saddr ip", [address, "0.0.0.0"], "!="), Count(spoof), Drop());
            // nft's byte limit lets through one second of the rate plus the burst at once; that second
            // must hold the largest frame (segmentation offload hands over up to 64 KiB), so a burst
            // tops it up only for slow limits.
            if (nic.RateKbit is { } kbit)
                Rule(batch, "bridge", "prerouting", who, From(), new JsonObject
                {
                    ["limit"] = new JsonObject
                    {
                        ["rate"] = kbit * 1000 / 8, ["per"] = "second", ["rate_unit"] = "bytes",
                        ["burst"] = Math.Max(0, 80 * 1024 - kbit * 1000 / 8), ["burst_unit"] = "bytes", ["inv"] = true,
                    },
                }, Count(rate), Drop());
            if (isolated?.Contains(nic.WorkspaceId) == true)
            {
                // Quarantine: its gateway (DHCP, DNS, ping) and ARP about the gateway, nothing else. Not counted:
                // what it sends now is held, not a new violation.
                Rule(batch, "bridge", "prerouting", who, From(), Match("meta", "protocol", "ip"), Match("udp", "dport", 67), Accept());
                Rule(batch, "bridge", "prerouting", who, From(), Match("meta", "protocol", "ip"), Match("ip", "daddr", network.Gateway), Accept());
                Rule(batch, "bridge", "prerouting", who, From(), Match("meta", "protocol", "arp"), Match("arp", "daddr ip", network.Gateway), Accept());
                Rule(batch, "bridge", "prerouting", who, From(), Drop());
            }
            if (network.IsolateOwners && nics.Where(o => o.Network == nic.Network && o.Owner != nic.Owner && o.Address is not null).Select(o => o.Tap).ToArray() is { Length: > 0 } others)
                Rule(batch, "bridge", "prerouting", who, From(), Match("meta", "obrname", network.Bridge), MatchSet("meta", "oifname", others), Drop());

            string egress = nic.Egress ?? network.Egress;
            if (egress.Length > 0)
            {
                Rule(batch, "inet", "forward", who, Match("meta", "iifname", network.Bridge), Match("ip", "saddr", address),
                    Match("ct", "state", new JsonArray("established", "related"), "in"), Accept());
                foreach (var allowed in Egress.Parse(egress))
                {
                    var rule = new List<JsonObject> { Match("meta", "iifname", network.Bridge), Match("ip", "saddr", address), Match("ip", "daddr", Prefix(allowed.Cidr)) };
                    if (allowed.Ports.Length > 0)
                    {
                        rule.Add(MatchSet("meta", "l4proto", ["tcp", "udp"]));
                        rule.Add(new JsonObject { ["match"] = new JsonObject { ["op"] = "==", ["left"] = new JsonObject { ["payload"] = new JsonObject { ["protocol"] = "th", ["field"] = "dport" } }, ["right"] = new JsonObject { ["set"] = new JsonArray(allowed.Ports.Select(p => (JsonNode)p).ToArray()) } } });
                    }
                    rule.Add(Accept());
                    Rule(batch, "inet", "forward", who, [.. rule]);
                }
                Rule(batch, "inet", "forward", who, Match("meta", "iifname", network.Bridge), Match("ip", "saddr", address), Match("meta", "oifname", network.Bridge, "!="), Count(egressCounter), Drop());
            }
        }

        var bridges = networks.Select(n => n.Bridge).ToArray();
        foreach (var network in networks)
        {
            string what = $"network {network.Name}";
            if (network.Isolated)
            {
                Rule(batch, "inet", "forward", what, Match("meta", "iifname", network.Bridge), Match("meta", "oifname", network.Bridge, "!="), Drop());
                Rule(batch, "inet", "forward", what, Match("meta", "oifname", network.Bridge), Match("meta", "iifname", network.Bridge, "!="), Drop());
            }
            else if (bridges.Length > 1)
            {
                Rule(batch, "inet", "forward", what, Match("meta", "iifname", network.Bridge), Match("meta", "oifname", network.Bridge, "!="),
                    MatchSet("meta", "oifname", bridges), Drop());
            }
            if (network.Nat && !network.Isolated)
                Rule(batch, "inet", "postrouting", what, Match("ip", "saddr", Prefix(network.Subnet)), Match("meta", "oifname", network.Bridge, "!="),
                    new JsonObject { ["masquerade"] = null });
        }

        var addresses = nics.Where(n => n.Address is not null).ToDictionary(n => n.WorkspaceId);
        foreach (var forward in forwards)
        {
            if (!addresses.TryGetValue(forward.WorkspaceId, out var nic)) continue;
            foreach (var chain in new[] { "prerouting", "output" })
                Rule(batch, "inet", chain, $"workspace {nic.WorkspaceId}",
                    new JsonObject { ["match"] = new JsonObject { ["op"] = "==", ["left"] = new JsonObject { ["fib"] = new JsonObject { ["result"] = "type", ["flags"] = new JsonArray("daddr") } }, ["right"] = "local" } },
                    Match(forward.Protocol, "dport", forward.HostPort),
                    new JsonObject { ["dnat"] = new JsonObject { ["family"] = "ip", ["addr"] = nic.Address!, ["port"] = forward.GuestPort } });
        }
        return new JsonObject { ["nftables"] = batch }.ToJsonString();
    }

    /// <summary>A command that removes both tables (when the daemon is told to forget its policy).</summary>
    public static string Remove() => new JsonObject
    {
        ["nftables"] = new JsonArray(
            Command("add", "table", new() { ["family"] = "bridge", ["name"] = Table }),
            Command("delete", "table", new() { ["family"] = "bridge", ["name"] = Table }),
            Command("add", "table", new() { ["family"] = "inet", ["name"] = Table }),
            Command("delete", "table", new() { ["family"] = "inet", ["name"] = Table })),
    }.ToJsonString();

    private static void Counter(JsonArray batch, string family, string name, IReadOnlyDictionary<string, (long Packets, long Bytes)>? carried)
    {
        var (packets, bytes) = carried is not null && carried.TryGetValue(name, out var value) ? value : (0, 0);
        batch.Add((JsonNode)Command("add", "counter", new()
        {
            ["family"] = family, ["table"] = Table, ["name"] = name, ["packets"] = packets, ["bytes"] = bytes,
        }));
    }

    /// <summary>Counts into the named counter (a statement before the drop it counts).</summary>
    private static JsonObject Count(string name) => new() { ["counter"] = name };

    private static JsonObject Command(string verb, string kind, JsonObject body) => new() { [verb] = new JsonObject { [kind] = body } };

    private static void Chain(JsonArray batch, string family, string name, string type, string hook, int priority) =>
        batch.Add((JsonNode)Command("add", "chain", new()
        {
            ["family"] = family, ["table"] = Table, ["name"] = name, ["type"] = type, ["hook"] = hook, ["prio"] = priority, ["policy"] = "accept",
        }));

    private static void Rule(JsonArray batch, string family, string chain, string comment, params JsonObject[] expressions) =>
        batch.Add((JsonNode)Command("add", "rule", new()
        {
            ["family"] = family, ["table"] = Table, ["chain"] = chain, ["comment"] = comment, ["expr"] = new JsonArray(expressions),
        }));

    private static JsonObject Match(string protocol, string field, JsonNode value, string op = "==")
    {
        JsonObject left = protocol is "meta" or "ct"
            ? new JsonObject { [protocol] = new JsonObject { ["key"] = field } }
            : new JsonObject { ["payload"] = new JsonObject { ["protocol"] = protocol, ["field"] = field } };
        return new JsonObject { ["match"] = new JsonObject { ["op"] = op, ["left"] = left, ["right"] = value } };
    }

    private static JsonObject MatchSet(string protocol, string field, string[] values, string op = "==") =>
        Match(protocol, field, new JsonObject { ["set"] = new JsonArray(values.Select(v => (JsonNode)v).ToArray()) }, op);

    private static JsonObject Prefix(string cidr)
    {
        var parts = cidr.Split('/');
        return new JsonObject { ["prefix"] = new JsonObject { ["addr"] = parts[0], ["len"] = parts.Length > 1 ? int.Parse(parts[1]) : 32 } };
    }

    private static JsonObject Accept() => new() { ["accept"] = null };
    private static JsonObject Drop() => new() { ["drop"] = null };
}
