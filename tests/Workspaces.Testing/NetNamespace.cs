using System.Diagnostics;

namespace Workspaces.Testing;

/// <summary>
/// A network namespace the test makes and removes, so the host's own network is never touched:
/// the daemon's bridges and rules, and test servers, live in namespaces like this one.
/// </summary>
public sealed class NetNamespace : IAsyncDisposable
{
    private readonly List<Process> _servers = [];

    private NetNamespace(string name) => Name = name;

    public string Name { get; }

    public static async Task<NetNamespace> CreateAsync(string role)
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("ip", "nft", "dnsmasq", "busybox");
        var ns = new NetNamespace($"ws{role}{Random.Shared.Next(100000, 999999)}");
        await Processes.MustAsync("ip", ["netns", "add", ns.Name]);
        await ns.RunAsync("ip", "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>A veth pair between two namespaces, addressed on a /24 (this side .1, the other .2).</summary>
    public async Task LinkAsync(NetNamespace other, string subnetPrefix)
    {
        string here = $"v{Name[^6..]}a", there = $"v{Name[^6..]}b";
        await Processes.MustAsync("ip", ["link", "add", here, "netns", Name, "type", "veth", "peer", "name", there, "netns", other.Name]);
        await RunAsync("ip", "addr", "add", $"{subnetPrefix}.1/24", "dev", here);
        await RunAsync("ip", "link", "set", here, "up");
        await other.RunAsync("ip", "addr", "add", $"{subnetPrefix}.2/24", "dev", there);
        await other.RunAsync("ip", "link", "set", there, "up");
    }

    public async Task<Processes.Result> RunAsync(params string[] command)
    {
        var result = await Processes.RunAsync("ip", ["netns", "exec", Name, .. command]);
        if (result.ExitCode != 0) throw new InvalidOperationException($"in {Name}: {string.Join(' ', command)} failed ({result.ExitCode}): {result.Stderr.Trim()}");
        return result;
    }

    /// <summary>A background process in the namespace (a test server), stopped on dispose.</summary>
    public Process Start(params string[] command)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", Name }.Concat(command)) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        _servers.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _servers)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        // Anything still in the namespace (dnsmasq, QEMU) would keep it busy: the daemon's disposal kills those first.
        await Processes.RunAsync("ip", ["netns", "del", Name]);
    }
}
