using Microsoft.Extensions.Options;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Processes;
using Workspaces.Daemon.State;
using Workspaces.Native;

namespace Workspaces.Daemon.Network;

/// <summary>
/// One dnsmasq per network, DHCP only (no DNS), answering only the MACs SQLite allocated, each with
/// its pinned address. It daemonizes, so like the guests it outlives workspacesd.
/// </summary>
public sealed class DhcpServer(IOptions<WorkspacesOptions> options, CommandRunner runner)
{
    /// <summary>How often a start that failed is tried (with 20, 40, 60, 80 ms between): a retry of an action, not a wait.</summary>
    private const int StartAttempts = 5;

    // One change at a time: two concurrent restarts of one network's dnsmasq would each start one.
    private readonly SemaphoreSlim _gate = new(1, 1);

    private string Dir(string network) => Directory.CreateDirectory(Path.Combine(options.Value.StateDir, "networks", network)).FullName;
    private string PidFile(string network) => Path.Combine(Dir(network), "dnsmasq.pid");

    /// <summary>
    /// Makes sure the network's dnsmasq runs with exactly these hosts (the NICs leased an address:
    /// running workspaces). They are on its command line (dnsmasq drops to an unprivileged user, which
    /// may not read the state dir), so a change of hosts restarts it; the lease file carries over,
    /// less the leases SQLite took back.
    /// </summary>
    public async Task EnsureAsync(NetworkRow network, IEnumerable<NicRow> nics, CancellationToken ct)
    {
        string dir = Dir(network.Name);
        var subnet = Subnet.Parse(network.Subnet);
        var args = new List<string>
        {
            "--conf-file=/dev/null", "--port=0", "--bind-interfaces", $"--interface={network.Bridge}", "--except-interface=lo",
            $"--dhcp-range={subnet.Network.BaseAddress},static,{subnet.Netmask}",
            $"--dhcp-option=option:router,{network.Gateway}",
            $"--dhcp-leasefile={Path.Combine(dir, "leases")}", $"--pid-file={PidFile(network.Name)}",
        };
        // A spanning network's segment holds every member host's dnsmasq: none may NAK what another leased.
        if (!network.Spanning) args.Add("--dhcp-authoritative");
        else args.Add($"--dhcp-option=option:mtu,{network.SpanMtu}");
        var hosts = nics.Where(n => n.Address is not null).OrderBy(n => n.Mac, StringComparer.Ordinal).ToList();
        args.AddRange(hosts.Select(n => $"--dhcp-host={n.Mac},{n.Address}"));

        await _gate.WaitAsync(ct);
        try
        {
            var running = ServersOf(network.Name).ToList();
            if (running is [var pid] && ProcessTable.CommandLine(pid) is { } current && current.Skip(1).SequenceEqual(args)) return;
            await EndAsync(running);
            ForgetReturnedLeases(Path.Combine(dir, "leases"), hosts.Select(n => $"{n.Mac} {n.Address}").ToHashSet(StringComparer.Ordinal));
            // dnsmasq lists the host's interfaces as it starts, and fails if one vanishes meanwhile ("No such
            // device": a guest's tap going with its QEMU). That passes: try a few times before giving up.
            CommandResult? failed = null;
            for (int attempt = 1; attempt <= StartAttempts; attempt++)
            {
                // It daemonizes: the first process leaves (and the server closes our pipes) once it is up.
                var result = await runner.RunAsync(options.Value.DnsmasqBinary, args, ct);
                if (result.Succeeded) return;
                failed = result;
                await Task.Delay(20 * attempt, ct);
            }
            throw new NetworkException($"dnsmasq for network '{network.Name}' did not start: {failed!.Stderr.Trim()}", failed.Failure());
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StopAsync(string network)
    {
        await _gate.WaitAsync();
        try
        {
            await EndAsync(ServersOf(network).ToList());
            Directory.Delete(Dir(network), recursive: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// At start: ends every dnsmasq this state dir started for a network SQLite does not know (a
    /// network removed while a stray survived, or a crash between the two).
    /// </summary>
    public async Task ReapStraysAsync(IReadOnlyCollection<string> networks)
    {
        string root = Path.Combine(options.Value.StateDir, "networks") + "/";
        var known = networks.Select(PidFile).ToHashSet(StringComparer.Ordinal);
        await EndAsync(ProcessTable.Find(args => PidFileArgument(args) is { } file
            && file.StartsWith(root, StringComparison.Ordinal) && !known.Contains(file)).ToList());
    }

    /// <summary>Every dnsmasq serving this network: normally one; more only if an older daemon leaked them.</summary>
    private IEnumerable<int> ServersOf(string network)
    {
        string file = PidFile(network);
        return ProcessTable.Find(args => PidFileArgument(args) == file);
    }

    private static string? PidFileArgument(string[] args) =>
        args.Length > 0 && Path.GetFileName(args[0]) == "dnsmasq"
            ? args.FirstOrDefault(a => a.StartsWith("--pid-file=", StringComparison.Ordinal))?["--pid-file=".Length..]
            : null;

    /// <summary>SIGTERM, then SIGKILL to whatever has not exited after 2 s: none of them may answer DHCP any more.</summary>
    private static async Task EndAsync(IReadOnlyList<int> pids)
    {
        foreach (var pid in pids) Libc.SendSignal(pid, Libc.SIGTERM);
        await Poll.WaitUntilAsync(() => !pids.Any(ProcessTable.IsAlive), TimeSpan.FromSeconds(2));
        foreach (var pid in pids.Where(ProcessTable.IsAlive)) Libc.SendSignal(pid, Libc.SIGKILL);
    }

    /// <summary>
    /// While dnsmasq is down: drops from its lease file every lease SQLite no longer grants. A stopped
    /// workspace's address goes to the next start, and dnsmasq refuses to offer an address its file
    /// still gives to another MAC until that lease expires (an hour).
    /// </summary>
    private static void ForgetReturnedLeases(string path, IReadOnlySet<string> granted)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path);
        // "EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID" per lease (dnsmasq's lease file format).
        var kept = lines.Where(l => l.Split(' ') is { Length: >= 3 } f && granted.Contains($"{f[1]} {f[2]}")).ToArray();
        if (kept.Length == lines.Length) return;
        string staging = path + ".new";
        File.WriteAllLines(staging, kept);
        File.Move(staging, path, overwrite: true);
    }

    /// <summary>The leases dnsmasq has handed out: "MAC address" per line.</summary>
    public IReadOnlyList<string> Leases(string network)
    {
        string path = Path.Combine(Dir(network), "leases");
        return File.Exists(path)
            ? File.ReadAllLines(path).Select(l => l.Split(' ')).Where(f => f.Length >= 3).Select(f => $"{f[1]} {f[2]}").ToList()
            : [];
    }
}
