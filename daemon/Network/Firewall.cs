using System.Text.Json;
using Workspaces.Daemon.State;
using Workspaces.Native;

namespace Workspaces.Daemon.Network;

/// <summary>The one owner of the daemon's nftables tables: every change rebuilds them from SQLite in one transaction.</summary>
public sealed class Firewall(NetworkRepository networks, QuarantineRepository quarantines) : IDisposable
{
    private readonly Lazy<Nftables> _nft = new(() => new Nftables());
    private readonly Lazy<Nftables> _text = new(() => new Nftables(json: false));
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>How often a batch the kernel interrupted (EINTR) is sent: a retry of an action, not a wait.</summary>
    private const int ApplyAttempts = 10;

    public async Task ApplyAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var all = networks.List();
            var isolated = quarantines.List().Where(q => q.Action == "isolate").Select(q => q.WorkspaceId).ToHashSet();
            // The rebuild makes the counters anew: they start from what they hold now, so they only rise.
            var carried = ReadRaw();
            // Only running workspaces hold addresses: a stopped one's address is in no rule, so it can go to the next start.
            // No network left: no tables either, as before the first network was made.
            string batch = all.Count == 0 ? FirewallRules.Remove() : FirewallRules.Build(all, networks.Leased(), networks.Forwards(), isolated, carried);
            // The kernel answers EINTR when the rule set's generation moved while nft read it (the soak
            // test met it under load); the batch is whole and idempotent, so it is simply sent again.
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    _nft.Value.Run(batch);
                    break;
                }
                catch (NftablesException e) when (e.Message.Contains("Interrupted system call", StringComparison.Ordinal) && attempt < ApplyAttempts)
                {
                    await Task.Delay(10 * attempt, ct);
                }
                catch (NftablesException e)
                {
                    throw new NetworkException($"the traffic policy could not be applied: {e.Message}");
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Every workspace's violation counters, in one `list counters` call per table (the poller's read per
    /// interval, whatever the number of workspaces). A workspace with no rules (not running) is absent.
    /// </summary>
    public IReadOnlyDictionary<string, TrafficCounters> ReadCounters()
    {
        var byWorkspace = new Dictionary<string, TrafficCounters>();
        foreach (var (name, (packets, _)) in ReadRaw())
        {
            if (!CounterNames.TryParse(name, out string kind, out string id)) continue;
            var now = byWorkspace.GetValueOrDefault(id, TrafficCounters.Zero);
            byWorkspace[id] = kind switch
            {
                CounterNames.Spoof => now with { Spoofed = packets },
                CounterNames.Egress => now with { EgressRefused = packets },
                _ => now with { RateDropped = packets },
            };
        }
        return byWorkspace;
    }

    /// <summary>
    /// The named counters of our tables, by name: packets and bytes. Listed per table, so the read
    /// costs what our rules cost, not what the whole host's ruleset does.
    /// </summary>
    private Dictionary<string, (long Packets, long Bytes)> ReadRaw()
    {
        var counters = new Dictionary<string, (long, long)>();
        foreach (var family in new[] { "bridge", "inet" })
        {
            string output;
            try { output = _nft.Value.Run($"list counters table {family} {FirewallRules.Table}"); }
            catch (NftablesException) { continue; } // no table yet: nothing counted
            if (output.Trim().Length == 0) continue;
            using var json = JsonDocument.Parse(output);
            foreach (var item in json.RootElement.GetProperty("nftables").EnumerateArray())
            {
                if (!item.TryGetProperty("counter", out var counter)) continue;
                counters[counter.GetProperty("name").GetString()!] = (counter.GetProperty("packets").GetInt64(), counter.GetProperty("bytes").GetInt64());
            }
        }
        return counters;
    }

    /// <summary>
    /// The rules now in the kernel whose comment names this subject ("workspace 3f9c0e1d2b4a6c8e", "network lan"),
    /// as nft prints them: "bridge prerouting: iifname "wst..." ether saddr != 52:54:00:... drop".
    /// </summary>
    public IReadOnlyList<string> RulesOf(string subject)
    {
        var rules = new List<string>();
        string comment = $"comment \"{subject}\"";
        foreach (var family in new[] { "bridge", "inet" })
        {
            string text;
            try { text = _text.Value.Run($"list table {family} {FirewallRules.Table}"); }
            catch (NftablesException) { continue; } // no table: no rules
            string chain = "";
            foreach (var raw in text.Split('\n'))
            {
                string line = raw.Trim();
                if (line.StartsWith("chain ", StringComparison.Ordinal)) chain = line.Split(' ')[1];
                else if (line.EndsWith(comment, StringComparison.Ordinal)) rules.Add($"{family} {chain}: {line[..^comment.Length].TrimEnd()}");
            }
        }
        return rules;
    }

    public void Dispose()
    {
        if (_nft.IsValueCreated) _nft.Value.Dispose();
        if (_text.IsValueCreated) _text.Value.Dispose();
    }
}
