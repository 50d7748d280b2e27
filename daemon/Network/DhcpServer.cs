using System.Diagnostics;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.State;
using Workspaces.Native;

namespace Workspaces.Daemon.Network;

/// <summary>
/// One dnsmasq per network, DHCP only (no DNS), answering only the MACs SQLite allocated, each with
/// its pinned address. It daemonizes, so like the guests it outlives workspacesd.
/// </summary>
public sealed class DhcpServer(IOptions<WorkspacesOptions> options)
{
    private string Dir(string network) => Directory.CreateDirectory(Path.Combine(options.Value.StateDir, "networks", network)).FullName;
    private string PidFile(string network) => Path.Combine(Dir(network), "dnsmasq.pid");

    /// <summary>
    /// Makes sure the network's dnsmasq runs with exactly these hosts. They are on its command line
    /// (dnsmasq drops to an unprivileged user, which may not read the state dir), so a change of
    /// hosts restarts it; the lease file carries over.
    /// </summary>
    public async Task EnsureAsync(NetworkRow network, IEnumerable<NicRow> nics, CancellationToken ct)
    {
        string dir = Dir(network.Name);
        var subnet = Subnet.Parse(network.Subnet);
        var args = new List<string>
        {
            "--conf-file=/dev/null", "--port=0", "--bind-interfaces", $"--interface={network.Bridge}", "--except-interface=lo",
            $"--dhcp-range={subnet.Network.BaseAddress},static,{subnet.Netmask}",
            $"--dhcp-option=option:router,{network.Gateway}", "--dhcp-authoritative",
            $"--dhcp-leasefile={Path.Combine(dir, "leases")}", $"--pid-file={PidFile(network.Name)}",
        };
        args.AddRange(nics.OrderBy(n => n.Mac, StringComparer.Ordinal).Select(n => $"--dhcp-host={n.Mac},{n.Address}"));

        if (RunningPid(network.Name) is { } pid)
        {
            if (ProcessTable.CommandLine(pid) is { } running && running.Skip(1).SequenceEqual(args)) return;
            Libc.SendSignal(pid, Libc.SIGTERM);
            for (int i = 0; i < 100 && ProcessTable.IsAlive(pid); i++) await Task.Delay(20, ct);
        }
        var start = new ProcessStartInfo(options.Value.DnsmasqBinary) { RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string error = await process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct); // it daemonizes: the parent leaves once the server is up
        if (process.ExitCode != 0) throw new NetworkException($"dnsmasq for network '{network.Name}' did not start: {error.Trim()}");
    }

    public void Stop(string network)
    {
        if (RunningPid(network) is { } pid) Libc.SendSignal(pid, Libc.SIGTERM);
        Directory.Delete(Dir(network), recursive: true);
    }

    /// <summary>The leases dnsmasq has handed out: "MAC address" per line.</summary>
    public IReadOnlyList<string> Leases(string network)
    {
        string path = Path.Combine(Dir(network), "leases");
        return File.Exists(path)
            ? File.ReadAllLines(path).Select(l => l.Split(' ')).Where(f => f.Length >= 3).Select(f => $"{f[1]} {f[2]}").ToList()
            : [];
    }

    /// <summary>The pid of this network's dnsmasq if it runs (the pid file's process, with our pid file on its command line).</summary>
    private int? RunningPid(string network)
    {
        string file = PidFile(network);
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), out int pid)) return null;
        return ProcessTable.IsAlive(pid) && ProcessTable.CommandLine(pid) is { } args && args.Any(a => a.Contains(file, StringComparison.Ordinal))
            ? pid : null;
    }
}
