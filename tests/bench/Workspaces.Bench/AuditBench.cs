using System.Globalization;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// The cost of auditing (issue #14): `ws pause` then `ws resume` of a running guest, pair after pair, against
/// two daemons of the same binary, one with the audit log on and one with it off (audit.enabled=false),
/// interleaved pair by pair so that a load that comes and goes on the shared machine falls on both alike,
/// and which goes first alternating each round (going first or second in a round was seen to shift a median by several %).
/// Each pair is timed as the user sees it (two `ws` processes), and also through the API alone (the
/// daemon's own share, without the CLI's start-up). Then the audit log's bytes per action: what the
/// day files grew by over the run (checkpoints included), over the actions recorded.
/// </summary>
public static class AuditBench
{
    public const double Target = 0.05;

    public static async Task RunAsync(int pairs, Report report)
    {
        await using var on = await StartAsync(audit: true);
        await using var off = await StartAsync(audit: false);
        string auditDir = Path.Combine(on.StateDir, "audit");
        long before = Size(auditDir);
        int actions = 0;

        var cli = await AlternatingMediansAsync(pairs, () => CliPairAsync(on), () => CliPairAsync(off));
        actions += 2 * (pairs + 1); // the warm-up round counts: it was recorded too
        var api = await AlternatingMediansAsync(pairs, () => ApiPairAsync(on), () => ApiPairAsync(off));
        actions += 2 * (pairs + 1);

        // The records are queued, not awaited: wait until the last action's record is on disk before sizing.
        await Wait.UntilAsync(() => Records(auditDir) >= actions, TimeSpan.FromSeconds(30), "every action's record on disk");
        double bytesPerAction = (Size(auditDir) - before) / (double)actions;

        Add(report, $"ws pause + ws resume, audit on vs off ({pairs} pairs, median)", cli);
        Add(report, $"pause + resume through the API, audit on vs off ({pairs} pairs, median)", api);
        report.Add("audit log bytes per action (checkpoints included)", bytesPerAction.ToString("F0", CultureInfo.InvariantCulture), "", "", "", null);
    }

    /// <summary>Each round runs both, on first in even rounds and off first in odd ones; one untimed round first.</summary>
    private static async Task<double[]> AlternatingMediansAsync(int rounds, Func<Task> on, Func<Task> off)
    {
        await on();
        await off();
        var samples = new[] { new List<double>(), new List<double>() };
        for (int round = 0; round < rounds; round++)
            foreach (int c in round % 2 == 0 ? new[] { 0, 1 } : new[] { 1, 0 })
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await (c == 0 ? on() : off());
                samples[c].Add(clock.Elapsed.TotalMilliseconds);
            }
        return [Measure.Median(samples[0]), Measure.Median(samples[1])];
    }

    private static void Add(Report report, string name, double[] medians)
    {
        double ratio = medians[0] / medians[1] - 1;
        report.Add(name, $"{medians[0]:F2} ms", $"{medians[1]:F2} ms", $"{ratio * 100:+0.0;-0.0}%", $"<= +{Target * 100:F0}%", ratio <= Target);
    }

    private static async Task<DaemonProcess> StartAsync(bool audit)
    {
        var daemon = await DaemonProcess.StartAsync(new() { ["audit"] = new Dictionary<string, object> { ["enabled"] = audit } });
        await GuestImages.ImportAsync(daemon.Client);
        await daemon.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("b", "guest", MemoryMiB: 128));
        await daemon.Client.ActAndWaitAsync("b", "start");
        await daemon.WaitForConsoleAsync("b", "WORKSPACE-READY");
        return daemon;
    }

    private static async Task CliPairAsync(DaemonProcess daemon)
    {
        foreach (var verb in new[] { "pause", "resume" })
        {
            var run = await daemon.WsAsync(verb, "b");
            if (run.ExitCode != 0) throw new InvalidOperationException($"ws {verb} b: {run.Stderr}");
        }
    }

    private static async Task ApiPairAsync(DaemonProcess daemon)
    {
        await daemon.Client.ActAndWaitAsync("b", "pause");
        await daemon.Client.ActAndWaitAsync("b", "resume");
    }

    private static long Size(string dir) => Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*.jsonl").Sum(f => new FileInfo(f).Length) : 0;

    /// <summary>The pause and resume records on disk (complete lines).</summary>
    private static int Records(string dir) => Directory.Exists(dir)
        ? Directory.EnumerateFiles(dir, "*.jsonl").Sum(f => File.ReadLines(f).Count(l => l.Contains("\"workspaces/b\"", StringComparison.Ordinal)
                                                                                      && (l.Contains("/pause\"", StringComparison.Ordinal) || l.Contains("/resume\"", StringComparison.Ordinal))))
        : 0;
}
