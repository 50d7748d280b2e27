using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Pulls between daemons in their own network namespaces (PeerHosts: one veth cable each to a bridge),
/// each against a baseline over the same cables in the same run:
/// 1. a 1 GiB blob from one peer against socat copying the same file over the same path, file to file
///    (and, for reference, socat through OpenSSL's TLS 1.3: the ceiling encryption alone sets on this CPU);
/// 2. the same blob from two peers at once against from one, when each sender's cable is limited.
/// Every run moves all the bytes: the image is removed on the receiver between runs (and the bench checks
/// that the senders' cables carried at least the blob).
/// </summary>
public static class PullBench
{
    private const long GiB = 1L << 30;
    private const string Image = "gib";

    /// <summary>profile: one more pull under `perf record` of both daemons, summed by library and by symbol (stderr).</summary>
    public static async Task RunAsync(int runs, string senderRate, bool profile, Report report)
    {
        Prerequisites.Require("socat", "tc", "ss", "sync");
        if (profile)
        {
            Prerequisites.Require("perf");
            // JIT daemons name their methods to perf (inherited); without W^X their code is in anonymous memory, where
            // perf looks those names up, not in the double-mapped memfd it shows as "memfd:doublemapper".
            Environment.SetEnvironmentVariable("DOTNET_PerfMapEnabled", "1");
            Environment.SetEnvironmentVariable("DOTNET_EnableWriteXorExecute", "0");
        }
        // Same filesystem as the daemons' state dirs (DaemonProcess makes those under the temp dir too).
        string data = Directory.CreateTempSubdirectory("ws-bench-pull-").FullName;
        var daemons = new List<int>();
        try
        {
            await using var hosts = await PeerHosts.StartAsync(3);
            daemons.AddRange(hosts.Hosts.Select(h => h.Daemon.Pid));
            await hosts.JoinAllAsync();
            var (a, b, c) = (hosts[0], hosts[1], hosts[2]);
            string source = Path.Combine(data, "gib.raw");
            await WriteRandomAsync(source, GiB);
            await a.Client.ImportLocalImageAsync(new ImageUpload(Image, DiskPath: source)); // as `ws image import gib --disk FILE`
            Console.Error.WriteLine($"pull: {runs} runs each, 1 GiB, {a.Name} -> {b.Name}, against socat over the same cables");
            await OnePeerAsync(a, b, source, Path.Combine(data, "received.raw"), runs, report);
            if (profile) await ProfileAsync(a, b, data);

            // The third host takes the same image (so the same manifest and blob) from the first, unlimited.
            await PullAsync(c, from: a.Name, [a]);
            Console.Error.WriteLine($"pull: {runs} runs each, 1 GiB, {a.Name} and {c.Name} (each sending at most {senderRate}) -> {b.Name}");
            await TwoPeersAsync(a, c, b, senderRate, runs, report);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
            foreach (int pid in daemons) // the perf maps every daemon wrote while profiling
                foreach (var map in new[] { $"/tmp/perf-{pid}.map", $"/tmp/perfinfo-{pid}.map" }) File.Delete(map);
        }
    }

    private static async Task OnePeerAsync(PeerHosts.Host a, PeerHosts.Host b, string source, string target, int runs, Report report)
    {
        // For reference, the ceiling TLS sets on this CPU: the same copy through OpenSSL (TLS 1.3, as the peer listener).
        string tls = await TlsCertificateAsync(Path.GetDirectoryName(source)!);
        // One round first, untimed, as Measure.InterleavedMediansAsync does: page cache, the JIT, and the sender's
        // piece list, which a host computes once per blob and keeps.
        await SocatCopy.RunAsync(a, b, source, target, 9399);
        File.Delete(target);
        await PullAsync(b, from: a.Name, [a]);
        await b.Client.DeleteImageAsync(Image);
        var socat = new List<SocatCopy.Transfer>();
        var socatTls = new List<SocatCopy.Transfer>();
        var pulls = new List<Pull>();
        for (int i = 0; i < runs; i++)
        {
            socat.Add(await SocatCopy.RunAsync(a, b, source, target, 9400 + i));
            File.Delete(target);
            socatTls.Add(await SocatCopy.RunAsync(a, b, source, target, 9500 + i, tls));
            File.Delete(target);
            var pull = await PullAsync(b, from: a.Name, [a]);
            pulls.Add(pull);
            await b.Client.DeleteImageAsync(Image); // as `ws image rm gib`: the blob goes, so the next run moves it all again
            Console.Error.WriteLine($"  run {i + 1}: socat {Rate(socat[^1].Seconds):0} MiB/s ({socat[^1].Cpu}), socat TLS {Rate(socatTls[^1].Seconds):0} MiB/s ({socatTls[^1].Cpu}), pull {Rate(pull.Seconds):0} MiB/s ({pull.Cpu})");
        }
        double baseline = Rate(Measure.Median(socat.Select(s => s.Seconds).ToList()));
        double ours = Rate(Measure.Median(pulls.Select(p => p.Seconds).ToList()));
        report.Add($"pull 1 GiB, one peer (median of {runs})", $"{ours:0} MiB/s", $"socat -b {SocatCopy.Buffer} + fsync {baseline:0} MiB/s",
            $"{ours / baseline:0.00}x", ">= 0.8x", ours / baseline >= 0.8);
        double ceiling = Rate(Measure.Median(socatTls.Select(s => s.Seconds).ToList()));
        report.Add("  for reference: raw TLS 1.3 copy, same path", $"socat openssl {ceiling:0} MiB/s", $"socat {baseline:0} MiB/s", $"{ceiling / baseline:0.00}x", "", null);
        report.Add("  CPU s per copy (median run)", pulls.OrderBy(p => p.Seconds).ElementAt(runs / 2).Cpu,
            $"socat {socat.OrderBy(s => s.Seconds).ElementAt(runs / 2).Cpu}; TLS {socatTls.OrderBy(s => s.Seconds).ElementAt(runs / 2).Cpu}", "", "", null);
    }

    private static async Task TwoPeersAsync(PeerHosts.Host a, PeerHosts.Host c, PeerHosts.Host b, string rate, int runs, Report report)
    {
        await PeerHosts.LimitSendingAsync(a, rate);
        await PeerHosts.LimitSendingAsync(c, rate);
        try
        {
            var one = new List<Pull>();
            var two = new List<Pull>();
            for (int i = 0; i < runs; i++)
            {
                one.Add(await PullAsync(b, from: a.Name, [a, c]));
                await b.Client.DeleteImageAsync(Image);
                two.Add(await PullAsync(b, from: null, [a, c]));
                await b.Client.DeleteImageAsync(Image);
                Console.Error.WriteLine($"  run {i + 1}: from {a.Name} {one[^1].Seconds:0.0} s ({Rate(one[^1].Seconds):0} MiB/s), " +
                    $"from both {two[^1].Seconds:0.0} s ({Rate(two[^1].Seconds):0} MiB/s; cables: {two[^1].Split}; the pull says: {two[^1].Served})");
            }
            double o = Measure.Median(one.Select(p => p.Seconds).ToList()), t = Measure.Median(two.Select(p => p.Seconds).ToList());
            var median = two.OrderBy(p => p.Seconds).ElementAt(runs / 2);
            report.Add($"pull 1 GiB, two peers at {rate} each (median of {runs})", $"{t:0.0} s, {Rate(t):0} MiB/s",
                $"one peer {o:0.0} s, {Rate(o):0} MiB/s", $"{o / t:0.00}x faster", ">= 1.3x", o / t >= 1.3);
            report.Add("  bytes each sender's cable carried (median run)", median.Split, $"pull's account: {median.Served}", "", "", null);
        }
        finally
        {
            await PeerHosts.LimitSendingAsync(a, null);
            await PeerHosts.LimitSendingAsync(c, null);
        }
    }

    /// <summary>One more pull with perf sampling each daemon: where the CPU goes (TLS, hashing, the kernel's copies, managed code).</summary>
    private static async Task ProfileAsync(PeerHosts.Host a, PeerHosts.Host b, string data)
    {
        var recorders = new[] { a, b }.Select(h =>
        {
            var start = new ProcessStartInfo("perf") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "record", "-F", "997", "-p", h.Daemon.Pid.ToString(), "-o", Path.Combine(data, $"{h.Name}.perf") })
                start.ArgumentList.Add(arg);
            return (Host: h, Perf: Process.Start(start)!);
        }).ToList();
        Pull pull;
        try
        {
            await Task.Delay(1000); // perf attaches to every thread
            pull = await PullAsync(b, from: a.Name, [a]);
            await b.Client.DeleteImageAsync(Image);
        }
        finally
        {
            foreach (var (_, perf) in recorders) await Measure.MustAsync("kill", "-INT", perf.Id.ToString()); // perf writes its file and exits
            foreach (var (_, perf) in recorders) await perf.WaitForExitAsync();
        }
        Console.Error.WriteLine($"profile: pull {Rate(pull.Seconds):0} MiB/s, CPU s {pull.Cpu}");
        foreach (var (host, _) in recorders)
        {
            string file = Path.Combine(data, $"{host.Name}.perf");
            foreach (var sort in new[] { "dso", "dso,sym" })
            {
                var (_, report, _) = await Measure.RunAsync("perf", "report", "-i", file, "--stdio", "--sort", sort, "--percent-limit", "1.5");
                Console.Error.WriteLine($"profile of {host.Name} ({(host == a ? "sender" : "receiver")}), by {sort}:");
                foreach (var line in report.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'))) Console.Error.WriteLine($"  {line.Trim()}");
            }
        }
    }


    private sealed record Pull(double Seconds, string Cpu, string Split, string Served);

    /// <summary>
    /// socat from a file in the sender's namespace to a file in the receiver's, timed from the sender's start
    /// until the receiver has written the whole file and fsynced it (`sync FILE`: fsync(2) of that file only,
    /// as the daemon fsyncs its blob; `sync -f` would flush everyone's dirty pages on the filesystem).
    /// </summary>
    /// <summary>A throwaway ECDSA P-256 certificate and key in one PEM, as socat's OPENSSL-LISTEN wants them.</summary>
    private static async Task<string> TlsCertificateAsync(string dir)
    {
        string key = Path.Combine(dir, "tls.key"), cert = Path.Combine(dir, "tls.crt"), pem = Path.Combine(dir, "tls.pem");
        await Measure.MustAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=bench");
        await File.WriteAllTextAsync(pem, await File.ReadAllTextAsync(key) + await File.ReadAllTextAsync(cert));
        return pem;
    }

    /// <summary>
    /// A pull on the receiver (POST /v1/images/pull, as `ws image pull gib [--from PEER]`), timed from the
    /// request to its operation's done, with the CPU each daemon spent meanwhile, the bytes each sender put
    /// on its cable, and what the pull says each peer served.
    /// </summary>
    private static async Task<Pull> PullAsync(PeerHosts.Host to, string? from, PeerHosts.Host[] senders)
    {
        var before = await Task.WhenAll(senders.Select(PeerHosts.SentBytesAsync));
        var cpuBefore = senders.Append(to).Select(h => CpuSeconds(h.Daemon.Pid)).ToArray();
        var clock = Stopwatch.StartNew();
        var op = await to.Client.StartPullAsync(new PullImageRequest(Image, from));
        op = WorkspacesClient.EnsureDone(await to.Client.WaitOperationAsync(op.Id));
        double seconds = clock.Elapsed.TotalSeconds;
        var cpu = senders.Append(to).Select((h, i) => CpuSeconds(h.Daemon.Pid) - cpuBefore[i]).ToArray();
        var after = await Task.WhenAll(senders.Select(PeerHosts.SentBytesAsync));
        var moved = after.Zip(before, (x, y) => x - y).ToArray();
        if (moved.Sum() < GiB) throw new InvalidOperationException($"the senders' cables carried only {moved.Sum()} bytes: the blob was not pulled whole");
        // The operation's account, e.g. "pulled gib (…): 1 blob(s); 1024.0 MiB fetched; from host1 512.0 MiB, host3 512.0 MiB; in 13.1 s".
        string served = op.Detail?.Split("; ").FirstOrDefault(part => part.StartsWith("from ")) ?? "";
        return new Pull(seconds,
            $"{string.Join(", ", senders.Select((h, i) => $"{h.Name} {cpu[i]:0.00}"))}, receiver {cpu[^1]:0.00}",
            string.Join(", ", senders.Select((h, i) => $"{h.Name} {moved[i] / (1 << 20)} MiB")), served);
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
