using System.Diagnostics;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Issue 13's live move: an idle 256 MiB test guest moved by the engine (LiveTransfer: NBD + mirror of its
/// overlay, RAM by migrate, both through the tunnel over loopback mTLS with real peer certificates), against
/// a bare QEMU 7.2 to QEMU 7.2 migration of the same guest over a Unix socket with shared storage (same
/// overlay file, no disk copy, no tunnel), with the same bandwidth cap and downtime limit. Downtime is as
/// QEMU reports it; total is wall time until the destination runs. Rounds alternate the two.
/// </summary>
public static class LiveBench
{
    private const long MaxBandwidth = 8L << 30;
    private const long DowntimeLimitMs = 100;

    public static async Task RunAsync(int runs, Report report)
    {
        var image = await TestGuest.GetAsync();
        string dir = Directory.CreateTempSubdirectory("ws-bench-live-").FullName;
        await using var peer = await LoopbackPeer.StartAsync();
        var transfer = new LiveTransfer(peer.Streams, peer.Channel);
        List<double> ourDowntime = [], ourTotal = [], bareDowntime = [], bareTotal = [];
        for (int i = 0; i < runs; i++)
        {
            var (d, t) = await OursAsync(image, transfer, peer, Path.Combine(dir, $"ours{i}"));
            ourDowntime.Add(d); ourTotal.Add(t);
            (d, t) = await BareAsync(image, Path.Combine(dir, $"bare{i}"));
            bareDowntime.Add(d); bareTotal.Add(t);
            Console.Error.WriteLine($"  round {i + 1}: ours downtime {ourDowntime[^1]} ms total {ourTotal[^1]:0} ms; bare downtime {bareDowntime[^1]} ms total {bareTotal[^1]:0} ms");
        }
        Directory.Delete(dir, recursive: true); // kept after a failure, for its consoles
        double ourD = Measure.Median(ourDowntime), bareD = Measure.Median(bareDowntime);
        double ourT = Measure.Median(ourTotal), bareT = Measure.Median(bareTotal);
        report.Add("live move 256 MiB idle: downtime (QEMU)", $"{ourD:0} ms", $"{bareD:0} ms", $"{ourD / bareD:0.00}x", "<= 300 ms (goal 100)", ourD <= 300);
        report.Add("live move 256 MiB idle: total", $"{ourT:0} ms", $"{bareT:0} ms", $"{ourT / bareT:0.00}x", "<= 1.5x (goal 1.2x)", ourT <= 1.5 * bareT);
    }

    private static async Task<(double Downtime, double Total)> OursAsync(TestGuest image, LiveTransfer transfer, LoopbackPeer peer, string dir)
    {
        await using var source = await LocalQemu.StartAsync(image, Path.Combine(dir, "src"), incoming: false);
        await source.BootAsync();
        await using var destination = await LocalQemu.StartAsync(image, Path.Combine(dir, "dst"), incoming: true);
        var clock = Stopwatch.StartNew();
        var ids = await transfer.PrepareAsync(destination.Guest, destination.Overlay, destination.Dir, peer.Source.Fingerprint, CancellationToken.None);
        var steps = new List<string> { $"prepared {clock.ElapsedMilliseconds}" };
        var progress = new Steps(p => { if (!steps[^1].StartsWith(p.Phase)) steps.Add($"{p.Phase} {clock.ElapsedMilliseconds}"); });
        var stats = await transfer.PerformAsync(source.Guest, source.Overlay, source.Dir, peer.Address, peer.Destination.Fingerprint, ids, progress, CancellationToken.None);
        steps.Add($"performed {clock.ElapsedMilliseconds}");
        await transfer.FinishAsync(destination.Guest, ids, CancellationToken.None);
        steps.Add($"running {clock.ElapsedMilliseconds}");
        Console.Error.WriteLine($"    ours, ms since start: {string.Join(", ", steps)}; QEMU total {stats.TotalTimeMs}, setup {stats.SetupTimeMs}");
        return (stats.DowntimeMs, clock.Elapsed.TotalMilliseconds);
    }

    private sealed class Steps(Action<Workspaces.Daemon.Hypervisor.LiveMigrationProgress> report) : IProgress<Workspaces.Daemon.Hypervisor.LiveMigrationProgress>
    {
        public void Report(Workspaces.Daemon.Hypervisor.LiveMigrationProgress value) => report(value);
    }

    public static async Task<(double Downtime, double Total)> BareAsync(TestGuest image, string dir)
    {
        await using var source = await LocalQemu.StartAsync(image, Path.Combine(dir, "src"), incoming: false);
        await source.BootAsync();
        await using var destination = await LocalQemu.StartAsync(image, Path.Combine(dir, "dst"), incoming: true, sharedOverlay: source.Overlay);
        string socket = Path.Combine(dir, "migrate.sock");
        var clock = Stopwatch.StartNew();
        await destination.Qmp.MigrateIncomingAsync($"unix:{socket}", CancellationToken.None);
        await source.Qmp.SetMigrationLimitsAsync(MaxBandwidth, DowntimeLimitMs, CancellationToken.None);
        await source.Qmp.MigrateAsync($"unix:{socket}", CancellationToken.None);
        // Its events go to the QemuGuest over the same monitor; poll the destination closely instead.
        while ((await destination.Qmp.QueryMigrationStatsAsync(CancellationToken.None)).Status is not ("completed" or "failed"))
            await Task.Delay(2);
        await destination.Qmp.ContinueAsync(CancellationToken.None);
        double total = clock.Elapsed.TotalMilliseconds;
        var stats = await source.Qmp.QueryMigrationStatsAsync(CancellationToken.None);
        Console.Error.WriteLine($"    bare: QEMU total {stats.TotalTimeMs}, setup {stats.SetupTimeMs}");
        if (stats.Status != "completed") throw new InvalidOperationException($"the bare migration ended {stats.Status}: {stats.Error}");
        return (stats.DowntimeMs, total);
    }
}
