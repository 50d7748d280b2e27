using System.Text.Json;
using Workspaces.Daemon.State;
using Workspaces.Native;

namespace Workspaces.Daemon.Network;

/// <summary>The one owner of the daemon's nftables tables: every change rebuilds them from SQLite in one transaction.</summary>
public sealed class Firewall(NetworkRepository networks) : IDisposable
{
    private readonly Lazy<Nftables> _nft = new(() => new Nftables());
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task ApplyAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var all = networks.List();
            // No network left: no tables either, as before the first network was made.
            _nft.Value.Run(all.Count == 0 ? FirewallRules.Remove() : FirewallRules.Build(all, networks.Nics(), networks.Forwards()));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The rules now in the kernel whose comment names this subject ("workspace web1", "network lan"), as nft prints them.</summary>
    public IReadOnlyList<string> RulesOf(string subject)
    {
        var rules = new List<string>();
        foreach (var family in new[] { "bridge", "inet" })
        {
            string json;
            try { json = _nft.Value.Run($"list table {family} {FirewallRules.Table}"); }
            catch (NftablesException) { continue; } // no table: no rules
            using var doc = JsonDocument.Parse(json);
            foreach (var item in doc.RootElement.GetProperty("nftables").EnumerateArray())
                if (item.TryGetProperty("rule", out var rule) && rule.TryGetProperty("comment", out var c) && c.GetString() == subject)
                    rules.Add($"{family} {rule.GetProperty("chain").GetString()}: {rule.GetProperty("expr")}");
        }
        return rules;
    }

    public void Dispose()
    {
        if (_nft.IsValueCreated) _nft.Value.Dispose();
    }
}
