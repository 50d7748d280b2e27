using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Issue 16's scale figures: `ws list` (table, time to its first page) at 100, 1,000 and 10,000 defined
/// against its own time at 100 on a second daemon, interleaved in the same rounds; the daemon's RSS fresh, at 10,000 and per workspace;
/// the RSS after importing 1 GiB against before; and from a daemon killed with 10,000 defined to its first answered listing. Workspaces are defined
/// through the API on the default network (--memory 128), so the daemon runs in a network namespace.
/// </summary>
public static class ScaleBench
{
    private const double ListTarget = 2.0;
    private static readonly int[] Sizes = [100, 1000, 10000];

    public static async Task RunAsync(int runs, Report report)
    {
        string ws = Repo.NativeCli ?? throw new InvalidOperationException("WORKSPACES_CLI must name a ws binary (Native AOT: what ships)");
        await using var ns = await NetNamespace.CreateAsync("b");
        await using var daemon = await DaemonProcess.StartAsync(netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await Task.Delay(2000); // let start-up work settle before reading fresh memory
        long fresh = Measure.RssKiB(daemon.Pid);
        report.Add("daemon RSS, fresh (one image)", $"{fresh / 1024.0:0.0} MiB", "", "", "<= 60 MiB", fresh <= 60 * 1024);
        await ImportGiBAsync(daemon, fresh, report);

        // The baseline: a second daemon that keeps 100 defined, listed in the same rounds as the growing one
        // (baseline, measured, baseline, measured, ...), so the shared machine's load falls on both alike.
        await using var baseNs = await NetNamespace.CreateAsync("c");
        await using var baseline = await DaemonProcess.StartAsync(netns: baseNs.Name);
        await GuestImages.ImportAsync(baseline.Client);
        await DefineUpToAsync(baseline.Client, 0, 100);

        int defined = 0;
        foreach (int size in Sizes)
        {
            var clock = Stopwatch.StartNew();
            defined = await DefineUpToAsync(client, defined, size);
            Console.Error.WriteLine($"  {size} defined ({clock.Elapsed.TotalSeconds:0} s to define)");
            await FirstPageAsync(ws, baseline.Socket, 100); // warm-up round
            await FirstPageAsync(ws, daemon.Socket, size);
            var (baseFirst, ourFirst, ourAll) = (new List<double>(), new List<double>(), new List<double>());
            for (int i = 0; i < runs; i++)
            {
                baseFirst.Add((await FirstPageAsync(ws, baseline.Socket, 100)).FirstPage);
                var (first, all) = await FirstPageAsync(ws, daemon.Socket, size);
                ourFirst.Add(first);
                ourAll.Add(all);
            }
            var (b, o) = (Measure.Median(baseFirst), Measure.Median(ourFirst));
            report.Add($"ws list, {size:N0} defined (first page, median)", $"{o:0.0} ms", $"ws list, 100 defined {b:0.0} ms (same rounds)",
                $"{o / b:0.00}x", $"<= {ListTarget}x", o <= ListTarget * b);
            report.Add($"ws list, {size:N0} defined (all rows, median)", $"{Measure.Median(ourAll):0.0} ms", "", "", "", null);
        }
        long loaded = Measure.RssKiB(daemon.Pid);
        double perWorkspace = (loaded - fresh) / (double)defined;
        report.Add($"daemon RSS, {defined:N0} defined", $"{loaded / 1024.0:0.0} MiB", $"fresh {fresh / 1024.0:0.0} MiB", "", "", null);
        report.Add("daemon RSS per defined workspace", $"{perWorkspace:0.0} KiB", "", "", "<= 64 KiB", perWorkspace <= 64);

        // Killed (as in a crash), started again: from the kill to the first listing answered, then ws list's first page.
        await daemon.KillAsync();
        var restart = Stopwatch.StartNew();
        await daemon.StartAsync(); // returns once the daemon answers GET /v1/workspaces
        double answered = restart.Elapsed.TotalMilliseconds;
        var (firstAfter, _) = await FirstPageAsync(ws, daemon.Socket, defined);
        double total = restart.Elapsed.TotalMilliseconds;
        report.Add($"restart to ws list, {defined:N0} defined", $"{total:0} ms", $"API answered at {answered:0} ms; ws list {firstAfter:0.0} ms", "",
            "<= 2000 ms", total <= 2000);
    }

    /// <summary>
    /// 1 GiB imported twice, as a request body (multipart upload, as from another machine) and from a local file
    /// (its descriptor passed over the socket, as `ws image import` does on the host): the heap must not stay grown.
    /// </summary>
    private static async Task ImportGiBAsync(DaemonProcess daemon, long before, Report report)
    {
        string path = Path.Combine(daemon.Dir, "gib.raw");
        await using (var file = File.Create(path))
        {
            var chunk = new byte[1 << 20];
            for (int i = 0; i < 1024; i++)
            {
                Random.Shared.NextBytes(chunk);
                await file.WriteAsync(chunk);
            }
        }
        // One after the other: the same bytes are one image (the cache refuses a second name for them).
        await daemon.Client.ImportImageAsync(new ImageUpload("gib", DiskPath: path));
        await daemon.Client.DeleteImageAsync("gib");
        await daemon.Client.ImportLocalImageAsync(new ImageUpload("gib", DiskPath: path));
        await daemon.Client.DeleteImageAsync("gib");
        File.Delete(path);
        await Task.Delay(2000); // as before the fresh reading: let the GC and the trim settle
        long after = Measure.RssKiB(daemon.Pid);
        report.Add("daemon RSS after importing 1 GiB (body, then local)", $"{after / 1024.0:0.0} MiB", $"before {before / 1024.0:0.0} MiB",
            $"{after / (double)before:0.00}x", "<= 1.10x", after <= before * 1.1);
    }

    /// <summary>Defines w00000.. up to the count, four requests at a time (as a script in a loop would, only faster).</summary>
    private static async Task<int> DefineUpToAsync(WorkspacesClient client, int from, int to)
    {
        int next = from - 1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < to;)
                await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"w{i:D5}", "guest", MemoryMiB: 128, Network: "default"));
        }));
        return to;
    }

    /// <summary>Runs `ws list`: milliseconds until its header and first page (100 rows, or all there are) are out, and until it exits.</summary>
    private static async Task<(double FirstPage, double Total)> FirstPageAsync(string ws, string socket, int defined)
    {
        var start = new ProcessStartInfo(ws) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--socket", socket, "list" }) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(start)!;
        var err = p.StandardError.ReadToEndAsync();
        // Raw bytes, newlines counted: a reader that costs next to nothing, so ws and the daemon have the CPUs.
        var stdout = p.StandardOutput.BaseStream;
        var buffer = new byte[64 << 10];
        int wanted = 1 + Math.Min(defined, 100), lines = 0, n;
        double first = 0;
        while ((n = await stdout.ReadAsync(buffer)) > 0)
        {
            int before = lines;
            lines += buffer.AsSpan(0, n).Count((byte)'\n');
            if (before < wanted && lines >= wanted) first = clock.Elapsed.TotalMilliseconds;
        }
        await p.WaitForExitAsync();
        double total = clock.Elapsed.TotalMilliseconds;
        if (p.ExitCode != 0 || lines != defined + 1) throw new InvalidOperationException($"ws list printed {lines} lines for {defined} workspaces: {await err}");
        return (first, total);
    }
}
