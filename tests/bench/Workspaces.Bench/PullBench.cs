using System.Diagnostics;
using System.Text.Json;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Pulls between daemons in their own network namespaces (PeerHosts: one veth cable each to a bridge),
/// each against a baseline over the same cables in the same run:
/// 1. a 1 GiB blob from one peer against socat copying the same file over the same path, file to file;
/// 2. the same blob from two peers at once against from one, when each sender's cable is limited.
/// Every run moves all the bytes: the image is removed on the receiver between runs (and the bench checks
/// that the senders' cables carried at least the blob).
/// </summary>
public static class PullBench
{
    private const long GiB = 1L << 30;
    private const string Image = "gib";
    // socat's default 8 KiB buffer costs it a third of its rate here; 128 KiB makes the baseline the stronger one.
    private const string SocatBuffer = "131072";

    public static async Task RunAsync(int runs, string senderRate, Report report)
    {
        Prerequisites.Require("socat", "tc", "ss", "sync");
        // Same filesystem as the daemons' state dirs (DaemonProcess makes those under the temp dir too).
        string data = Directory.CreateTempSubdirectory("ws-bench-pull-").FullName;
        try
        {
            await using var hosts = await PeerHosts.StartAsync(3);
            await hosts.JoinAllAsync();
            var (a, b, c) = (hosts[0], hosts[1], hosts[2]);
            string source = Path.Combine(data, "gib.raw");
            await WriteRandomAsync(source, GiB);
            await a.Client.ImportLocalImageAsync(new ImageUpload(Image, DiskPath: source)); // as `ws image import gib --disk FILE`
            Console.Error.WriteLine($"pull: {runs} runs each, 1 GiB, {a.Name} -> {b.Name}, against socat over the same cables");
            await OnePeerAsync(hosts, a, b, source, Path.Combine(data, "received.raw"), runs, report);

            if (!await PullExistsAsync(b)) return;
            // The third host takes the same image (so the same manifest and blob) from the first, unlimited.
            await PullAsync(hosts, c, from: a.Name, [a]);
            Console.Error.WriteLine($"pull: {runs} runs each, 1 GiB, {a.Name} and {c.Name} (each sending at most {senderRate}) -> {b.Name}");
            await TwoPeersAsync(hosts, a, c, b, senderRate, runs, report);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task OnePeerAsync(PeerHosts hosts, PeerHosts.Host a, PeerHosts.Host b, string source, string target, int runs, Report report)
    {
        var socat = new List<Transfer>();
        var pulls = new List<Pull>();
        for (int i = 0; i < runs; i++)
        {
            socat.Add(await SocatAsync(a, b, source, target, 9400 + i));
            File.Delete(target);
            if (!await PullExistsAsync(b))
            {
                Console.Error.WriteLine($"  run {i + 1}: socat {Rate(socat[^1].Seconds):0} MiB/s ({socat[^1].Cpu}); this daemon has no POST /v1/images/pull yet");
                continue;
            }
            var pull = await PullAsync(hosts, b, from: a.Name, [a]);
            pulls.Add(pull);
            await b.Client.DeleteImageAsync(Image); // as `ws image rm gib`: the blob goes, so the next run moves it all again
            Console.Error.WriteLine($"  run {i + 1}: socat {Rate(socat[^1].Seconds):0} MiB/s ({socat[^1].Cpu}), pull {Rate(pull.Seconds):0} MiB/s ({pull.Cpu})");
        }
        double baseline = Rate(Measure.Median(socat.Select(s => s.Seconds).ToList()));
        if (pulls.Count == 0)
        {
            report.Add($"pull 1 GiB, one peer (median of {runs})", "(no pull yet)", $"socat -b {SocatBuffer} + fsync {baseline:0} MiB/s", "", ">= 0.8x", null);
            return;
        }
        double ours = Rate(Measure.Median(pulls.Select(p => p.Seconds).ToList()));
        report.Add($"pull 1 GiB, one peer (median of {runs})", $"{ours:0} MiB/s", $"socat -b {SocatBuffer} + fsync {baseline:0} MiB/s",
            $"{ours / baseline:0.00}x", ">= 0.8x", ours / baseline >= 0.8);
        report.Add("  CPU s per pull (median)", pulls.OrderBy(p => p.Seconds).ElementAt(runs / 2).Cpu,
            socat.OrderBy(s => s.Seconds).ElementAt(runs / 2).Cpu, "", "", null);
    }

    private static async Task TwoPeersAsync(PeerHosts hosts, PeerHosts.Host a, PeerHosts.Host c, PeerHosts.Host b, string rate, int runs, Report report)
    {
        await hosts.LimitSendingAsync(a, rate);
        await hosts.LimitSendingAsync(c, rate);
        try
        {
            var one = new List<Pull>();
            var two = new List<Pull>();
            for (int i = 0; i < runs; i++)
            {
                one.Add(await PullAsync(hosts, b, from: a.Name, [a, c]));
                await b.Client.DeleteImageAsync(Image);
                two.Add(await PullAsync(hosts, b, from: null, [a, c]));
                await b.Client.DeleteImageAsync(Image);
                Console.Error.WriteLine($"  run {i + 1}: from {a.Name} {one[^1].Seconds:0.0} s ({Rate(one[^1].Seconds):0} MiB/s), " +
                    $"from both {two[^1].Seconds:0.0} s ({Rate(two[^1].Seconds):0} MiB/s; {two[^1].Split}{two[^1].Peers})");
            }
            double o = Measure.Median(one.Select(p => p.Seconds).ToList()), t = Measure.Median(two.Select(p => p.Seconds).ToList());
            var median = two.OrderBy(p => p.Seconds).ElementAt(runs / 2);
            report.Add($"pull 1 GiB, two peers at {rate} each (median of {runs})", $"{t:0.0} s, {Rate(t):0} MiB/s",
                $"one peer {o:0.0} s, {Rate(o):0} MiB/s", $"{o / t:0.00}x faster", ">= 1.3x", o / t >= 1.3);
            report.Add("  bytes each sender's cable carried (median run)", median.Split, "", "", "", null);
        }
        finally
        {
            await hosts.LimitSendingAsync(a, null);
            await hosts.LimitSendingAsync(c, null);
        }
    }

    private sealed record Transfer(double Seconds, string Cpu);

    private sealed record Pull(double Seconds, string Cpu, string Split, string Peers);

    /// <summary>
    /// socat from a file in the sender's namespace to a file in the receiver's, timed from the sender's start
    /// until the receiver has written the whole file and fsynced it (`sync FILE`: fsync(2) of that file only,
    /// as the daemon fsyncs its blob; `sync -f` would flush everyone's dirty pages on the filesystem).
    /// </summary>
    private static async Task<Transfer> SocatAsync(PeerHosts.Host from, PeerHosts.Host to, string source, string target, int port)
    {
        const string format = "cpu %U %S";
        var listener = to.Namespace.Start("/usr/bin/time", "-f", format, "socat", "-u", "-b", SocatBuffer,
            $"TCP-LISTEN:{port},reuseaddr", $"OPEN:{target},creat,trunc");
        var stderr = listener.StandardError.ReadToEndAsync();
        for (var wait = Stopwatch.StartNew(); (await to.Namespace.RunAsync("ss", "-Hltn", $"sport = :{port}")).Stdout.Trim().Length == 0;)
        {
            if (wait.Elapsed > TimeSpan.FromSeconds(10) || listener.HasExited) throw new InvalidOperationException($"socat did not listen on {port}: {await stderr}");
            await Task.Delay(20);
        }
        var clock = Stopwatch.StartNew();
        var sent = await from.Namespace.RunAsync("/usr/bin/time", "-f", format, "socat", "-u", "-b", SocatBuffer, $"OPEN:{source}", $"TCP:{to.Address}:{port}");
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2))) await listener.WaitForExitAsync(limit.Token);
        await Measure.MustAsync("sync", target);
        double seconds = clock.Elapsed.TotalSeconds;
        if (listener.ExitCode != 0 || new FileInfo(target).Length != new FileInfo(source).Length)
            throw new InvalidOperationException($"socat's copy is incomplete ({listener.ExitCode}): {await stderr}");
        return new Transfer(seconds, $"send {CpuOf(sent.Stderr):0.00}, recv {CpuOf(await stderr):0.00}");
    }

    /// <summary>Until `ws image pull` lands, the bench still measures its baseline: the daemon's API document says whether it has the route.</summary>
    private static async Task<bool> PullExistsAsync(PeerHosts.Host host)
    {
        using var raw = new RawHttp(host.Daemon.Socket);
        return JsonDocument.Parse((await raw.SendAsync(HttpMethod.Get, "v1/openapi.json")).Body).RootElement
            .GetProperty("paths").TryGetProperty("/v1/images/pull", out _);
    }

    private static double CpuOf(string timeOutput) =>
        timeOutput.Split('\n').Last(l => l.StartsWith("cpu ")).Split(' ')[1..].Sum(double.Parse);

    /// <summary>
    /// POST /v1/images/pull on the receiver and wait for its operation, timed from the request to done, with
    /// the CPU each daemon spent meanwhile and the bytes each sender put on its cable.
    /// </summary>
    private static async Task<Pull> PullAsync(PeerHosts hosts, PeerHosts.Host to, string? from, PeerHosts.Host[] senders)
    {
        var before = await Task.WhenAll(senders.Select(hosts.SentBytesAsync));
        var cpuBefore = senders.Append(to).Select(h => CpuSeconds(h.Daemon.Pid)).ToArray();
        using var raw = new RawHttp(to.Daemon.Socket);
        var clock = Stopwatch.StartNew();
        var started = await raw.PostJsonAsync("v1/images/pull", JsonSerializer.Serialize(new { image = Image, from }));
        if (started.Status != 202) throw new InvalidOperationException($"pull refused ({started.Status}): {started.Body}");
        string id = JsonDocument.Parse(started.Body).RootElement.GetProperty("id").GetString()!;
        var op = await to.Client.WaitOperationAsync(id);
        double seconds = clock.Elapsed.TotalSeconds;
        WorkspacesClient.EnsureDone(op);
        var cpu = senders.Append(to).Select((h, i) => CpuSeconds(h.Daemon.Pid) - cpuBefore[i]).ToArray();
        var after = await Task.WhenAll(senders.Select(hosts.SentBytesAsync));
        var moved = after.Zip(before, (x, y) => x - y).ToArray();
        if (moved.Sum() < GiB) throw new InvalidOperationException($"the senders' cables carried only {moved.Sum()} bytes: the blob was not pulled whole");
        // The operation's transfer (bytes, rate, peers) once the pull reports it; read loosely, as the contract may still grow.
        string peers = "";
        var view = await raw.SendAsync(HttpMethod.Get, $"v1/operations/{id}");
        if (JsonDocument.Parse(view.Body).RootElement.TryGetProperty("transfer", out var transfer) && transfer.ValueKind == JsonValueKind.Object
            && transfer.TryGetProperty("peers", out var names) && names.ValueKind == JsonValueKind.Array)
            peers = $"; served by {string.Join(", ", names.EnumerateArray().Select(n => n.GetString()))}";
        return new Pull(seconds,
            $"{string.Join(", ", senders.Select((h, i) => $"{h.Name} {cpu[i]:0.00}"))}, receiver {cpu[^1]:0.00}",
            string.Join(", ", senders.Select((h, i) => $"{h.Name} {moved[i] / (1 << 20)} MiB")), peers);
    }

    /// <summary>User + system CPU seconds of a process so far (/proc/PID/stat, in clock ticks of 1/100 s).</summary>
    private static double CpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0; // utime, stime: fields 14 and 15 of stat
    }

    private static double Rate(double seconds) => GiB / (1 << 20) / seconds;

    private static async Task WriteRandomAsync(string path, long size)
    {
        await using var file = File.Create(path);
        var chunk = new byte[1 << 20];
        for (long written = 0; written < size; written += chunk.Length)
        {
            Random.Shared.NextBytes(chunk);
            await file.WriteAsync(chunk);
        }
        file.Flush(flushToDisk: true);
    }
}
