using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Issue 17: a 4-member playground applied from a cached image (`ws playground apply --yes`) against the
/// same 4 workspaces launched one by one by hand (`ws network create`, then `ws create` + `ws start` for
/// each), both on one daemon in its own network namespace, both until every member answers on the
/// private network: member 1 pings each other member (by name in the playground, whose members have
/// /etc/hosts; by address by hand, where nobody wrote one). Interleaved rounds, medians.
/// </summary>
public static class PlaygroundBench
{
    private const int Members = 4;
    private const string Subnet = "10.81.0.0/24";

    private static readonly Dictionary<string, object> Config = new()
    {
        ["policy"] = new Dictionary<string, object> { ["capacityCpus"] = 8, ["cpuOvercommit"] = 1, ["capacityMemoryMiB"] = 2048, ["minMemoryMiB"] = 32 },
    };

    public static async Task RunAsync(int runs, Report report)
    {
        await using var ns = await NetNamespace.CreateAsync("pgb");
        await using var daemon = await DaemonProcess.StartAsync(Config, netns: ns.Name);
        await GuestImages.ImportAsync(daemon.Client);
        string file = Path.Combine(daemon.Dir, "bench.yaml");
        await File.WriteAllTextAsync(file, $"""
            name: bench
            network:
              subnet: {Subnet}
            roles:
              node:
                image: guest
                count: {Members}
                memory: 96
            """);
        var (cli, prefix) = Repo.Cli;
        string[] Ws(params string[] args) => [.. prefix, "--socket", daemon.Socket, .. args];
        string[] names = Enumerable.Range(1, Members).Select(i => $"bench-node-{i}").ToArray();

        async Task Playground()
        {
            await Measure.MustAsync(cli, Ws("playground", "apply", file, "--yes"));
            await AnsweringAsync(daemon, names, byName: true);
        }
        async Task ByHand()
        {
            await Measure.MustAsync(cli, Ws("network", "create", "hand", "--subnet", "10.82.0.0/24"));
            foreach (var name in names.Select(n => n.Replace("bench", "hand")))
            {
                await Measure.MustAsync(cli, Ws("create", "guest", name, "--memory", "96", "--network", "hand"));
                await Measure.MustAsync(cli, Ws("start", name));
            }
            await AnsweringAsync(daemon, names.Select(n => n.Replace("bench", "hand")).ToArray(), byName: false);
        }
        async Task Clean()
        {
            if ((await daemon.Client.ListPlaygroundsAsync()).Length > 0) await daemon.Client.DeletePlaygroundAsync("bench");
            foreach (var w in (await daemon.Client.ListWorkspacesAsync()).Where(w => w.Name.StartsWith("hand-", StringComparison.Ordinal)))
                await daemon.Client.DeleteWorkspaceAsync(w.Name, force: true);
            if ((await daemon.Client.ListNetworksAsync()).Any(n => n.Name == "hand")) await daemon.Client.DeleteNetworkAsync("hand");
        }

        var samples = new[] { new List<double>(), new List<double>() };
        for (int round = 0; round < runs; round++)
            foreach (var (run, i) in new (Func<Task>, int)[] { (Playground, 0), (ByHand, 1) })
            {
                var clock = Stopwatch.StartNew();
                await run();
                samples[i].Add(clock.Elapsed.TotalMilliseconds);
                Console.Error.WriteLine($"round {round + 1}: {(i == 0 ? "playground" : "by hand")} {clock.Elapsed.TotalSeconds:0.0} s");
                await Clean();
            }
        double ours = Measure.Median(samples[0]), baseline = Measure.Median(samples[1]);
        await LocalRateAsync(daemon, file, names, runs, report);
        string jit = Repo.NativeCli is null ? " (ws under the JIT)" : "";
        report.Add($"playground of {Members} (apply --yes) to all answering on its network{jit}", $"{ours / 1000:0.0} s",
            $"by hand {baseline / 1000:0.0} s", $"{ours / baseline:0.00}x", "", null);
    }

    /// <summary>
    /// For the span's table: guest to guest on one host (two members on one bridge), a file by HTTP as
    /// SpanningNetworkTests measures across hosts (busybox httpd and wget), less a request for an empty file.
    /// </summary>
    private static async Task LocalRateAsync(DaemonProcess daemon, string file, string[] names, int runs, Report report)
    {
        const int MiB = 8;
        var (cli, prefix) = Repo.Cli;
        await Measure.MustAsync(cli, [.. prefix, "--socket", daemon.Socket, "playground", "apply", file, "--yes"]);
        await AnsweringAsync(daemon, names, byName: true);
        await GuestShell.RunAsync(daemon, names[1], $"mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/f bs=1M count={MiB} 2>/dev/null && touch /tmp/www/t && httpd -p 8080 -h /tmp/www");
        var rates = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await GuestShell.RunAsync(daemon, names[0], $"wget -q -O /dev/null http://{names[1]}:8080/f", TimeSpan.FromSeconds(180));
            double full = clock.Elapsed.TotalSeconds;
            clock.Restart();
            await GuestShell.RunAsync(daemon, names[0], $"wget -q -O /dev/null http://{names[1]}:8080/t");
            rates.Add(MiB / (full - clock.Elapsed.TotalSeconds));
        }
        report.Add($"guest to guest on one host, {MiB} MiB by HTTP (median)", $"{Measure.Median(rates):0.0} MiB/s", "", "", "", null);
        await daemon.Client.DeletePlaygroundAsync("bench");
    }

    /// <summary>Until member 1 reaches every other member on the private network (a TCG boot takes seconds).</summary>
    private static async Task AnsweringAsync(DaemonProcess daemon, string[] names, bool byName)
    {
        await Task.WhenAll(names.Select(n => daemon.WaitForConsoleAsync(n, "WORKSPACE-COMMANDS", TimeSpan.FromMinutes(5))));
        var targets = new List<string>();
        foreach (var n in names.Skip(1))
            targets.Add(byName ? n : (await daemon.Client.GetWorkspaceAsync(n)).Nic?.Address ?? throw new InvalidOperationException($"{n} has no address"));
        string command = string.Join(" && ", targets.Select(t => $"ping -c 1 -W 1 {t} >/dev/null"));
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await GuestShell.RunAsync(daemon, names[0], command, TimeSpan.FromSeconds(10));
                return;
            }
            catch (Exception e) when (e is GuestCommandException or TimeoutException or IOException && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                // Not yet: an address, a name in /etc/hosts or a neighbour is still on its way.
            }
        }
    }
}
