using System.Diagnostics;
using System.Text.RegularExpressions;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Issue 13's moves as `ws move` makes them: two daemons in their own network namespaces, an idle 256 MiB test
/// guest moved live back and forth (downtime as QEMU reports it, from the move's operation; total as the caller
/// waits for the move, Prepare to Confirm), against a bare QEMU-to-QEMU migration of the same guest over a Unix
/// socket (LiveBench.BareAsync), rounds alternating. Then, on one host, stateful save+restore (ws stop --stateful,
/// ws start) of the same guest against a cold boot to its ready marker. Medians, ratios from this run.
/// </summary>
public static partial class MoveBench
{
    public static async Task RunAsync(int runs, Report report)
    {
        await using var peers = await PeerHosts.StartAsync(2);
        await peers.JoinAllAsync();
        await GuestImages.ImportAsync(peers[0].Client);
        await peers[0].Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("bench", "guest", 1, 256));
        await peers[0].Client.ActAndWaitAsync("bench", "start");
        await peers[0].Daemon.WaitForConsoleAsync("bench", "WORKSPACE-READY boot=1");
        var image = await TestGuest.GetAsync();
        string dir = Directory.CreateTempSubdirectory("ws-bench-move-").FullName;

        List<double> downtime = [], total = [], bareDowntime = [], bareTotal = [];
        for (int i = 0; i < runs; i++)
        {
            var (from, to) = (peers[i % 2], peers[(i + 1) % 2]);
            var clock = Stopwatch.StartNew();
            await from.Client.MoveAsync("bench", new MoveRequest(to.Name, "live"));
            total.Add(clock.Elapsed.TotalMilliseconds);
            var op = (await from.Client.ListOperationsAsync()).Last(o => o.Kind == "move" && o.Target == "bench");
            downtime.Add(double.Parse(Downtime().Match(op.Detail ?? "").Groups[1].Value));
            var (d, t) = await LiveBench.BareAsync(image, Path.Combine(dir, $"bare{i}"));
            bareDowntime.Add(d); bareTotal.Add(t);
            Console.Error.WriteLine($"  round {i + 1}: ws move {from.Name}->{to.Name} downtime {downtime[^1]} ms total {total[^1]:0} ms; bare downtime {d} ms total {t:0} ms");
        }
        Directory.Delete(dir, recursive: true);
        double ourD = Measure.Median(downtime), bareD = Measure.Median(bareDowntime), ourT = Measure.Median(total), bareT = Measure.Median(bareTotal);
        report.Add("ws move live, 256 MiB idle: downtime (QEMU)", $"{ourD:0} ms", $"{bareD:0} ms", $"{ourD / bareD:0.00}x", "<= 300 ms", ourD <= 300);
        report.Add("ws move live, 256 MiB idle: total", $"{ourT:0} ms", $"{bareT:0} ms", $"{ourT / bareT:0.00}x", "<= 1.5x", ourT <= 1.5 * bareT);

        // Stateful save+restore against a cold boot, on the host that holds the guest now.
        var host = peers[runs % 2];
        List<double> stateful = [], cold = [];
        for (int i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await host.Client.ActAndWaitAsync("bench", "stop", "stateful=true");
            await host.Client.ActAndWaitAsync("bench", "start");
            stateful.Add(clock.Elapsed.TotalMilliseconds);
            int boots = int.Parse((await GuestShell.RunAsync(host.Daemon, "bench", "cat /mnt/boot-count")).Trim()) + 1;
            await host.Client.ActAndWaitAsync("bench", "stop", "force=true");
            clock.Restart();
            await host.Client.ActAndWaitAsync("bench", "start");
            await host.Daemon.WaitForConsoleAsync("bench", $"WORKSPACE-READY boot={boots}");
            cold.Add(clock.Elapsed.TotalMilliseconds);
            Console.Error.WriteLine($"  round {i + 1}: stateful save+restore {stateful[^1]:0} ms; cold boot to ready {cold[^1]:0} ms");
        }
        double s = Measure.Median(stateful), c = Measure.Median(cold);
        report.Add("ws stop --stateful + ws start, 256 MiB", $"{s:0} ms", $"{c:0} ms", $"{s / c:0.00}x", "< cold boot", s < c);

        await ColdAsync(peers, image, runs, report);
    }

    /// <summary>
    /// A cold move of a stopped workspace whose overlay holds 256 MiB the guest wrote (random, so nothing
    /// compresses it away), back and forth, against socat copying that overlay file over the same cable.
    /// </summary>
    private static async Task ColdAsync(PeerHosts peers, TestGuest image, int runs, Report report)
    {
        // The test guest's disk is 64 MiB: a copy of it grown to 320 MiB gives the guest room past its filesystem.
        string dir = Directory.CreateTempSubdirectory("ws-bench-cold-").FullName;
        string disk = Path.Combine(dir, "disk320.qcow2");
        File.Copy(image.Disk, disk);
        await Measure.MustAsync("qemu-img", "resize", "-f", "qcow2", disk, "320M");
        await peers[0].Client.ImportLocalImageAsync(new ImageUpload("guest320", disk, image.Kernel, image.Initrd, image.Cmdline, false));
        await peers[0].Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("cold", "guest320", 1, 256));
        await peers[0].Client.ActAndWaitAsync("cold", "start");
        await peers[0].Daemon.WaitForConsoleAsync("cold", "WORKSPACE-READY boot=1");
        await GuestShell.RunAsync(peers[0].Daemon, "cold", "dd if=/dev/urandom of=/dev/vda bs=1048576 seek=64 count=256 && sync",
            TimeSpan.FromMinutes(5));
        await peers[0].Client.ActAndWaitAsync("cold", "stop");
        string id = (await peers[0].Client.GetWorkspaceAsync("cold")).Id;
        if (new FileInfo(peers[0].Daemon.Layout.Overlay(id)).Length < 256L << 20)
            throw new InvalidOperationException($"the guest's 256 MiB did not reach its overlay ({new FileInfo(peers[0].Daemon.Layout.Overlay(id)).Length} bytes)");

        List<double> moves = [], copies = [];
        long overlayBytes = 0;
        for (int i = 0; i < runs; i++)
        {
            var (from, to) = (peers[i % 2], peers[(i + 1) % 2]);
            string overlay = from.Daemon.Layout.Overlay(id);
            overlayBytes = new FileInfo(overlay).Length;
            var copy = await SocatCopy.RunAsync(from, to, overlay, Path.Combine(dir, "copy.qcow2"), 9600 + i);
            File.Delete(Path.Combine(dir, "copy.qcow2"));
            copies.Add(copy.Seconds * 1000);
            var clock = Stopwatch.StartNew();
            await from.Client.MoveAsync("cold", new MoveRequest(to.Name, "cold"));
            moves.Add(clock.Elapsed.TotalMilliseconds);
            Console.Error.WriteLine($"  round {i + 1}: ws move --mode cold {from.Name}->{to.Name} {moves[^1]:0} ms; socat of the {overlayBytes >> 20} MiB overlay {copies[^1]:0} ms");
        }
        Directory.Delete(dir, recursive: true);
        double m = Measure.Median(moves), t = Measure.Median(copies);
        report.Add($"ws move --mode cold, {overlayBytes >> 20} MiB overlay", $"{m:0} ms", $"socat TCP + sync {t:0} ms", $"{m / t:0.00}x", "", null);
    }

    [GeneratedRegex(@"downtime (\d+) ms")]
    private static partial Regex Downtime();
}
