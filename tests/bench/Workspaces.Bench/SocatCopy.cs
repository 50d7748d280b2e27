using System.Diagnostics;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// The plain-copy baseline of the transfer benchmarks: socat copies a file from one peer host's namespace to
/// another's over the same cable the daemons use (TCP, or TLS 1.3 through OpenSSL when given a PEM), file to
/// file, then `sync` on the copy; timed from the sender's start, with each end's CPU seconds.
/// </summary>
public static class SocatCopy
{
    /// <summary>socat's default 8 KiB buffer costs it a third of its rate here; 128 KiB makes the baseline the stronger one.</summary>
    public const string Buffer = "131072";

    public sealed record Transfer(double Seconds, string Cpu);

    public static async Task<Transfer> RunAsync(PeerHosts.Host from, PeerHosts.Host to, string source, string target, int port, string? tlsPem = null)
    {
        string listen = tlsPem is null ? $"TCP-LISTEN:{port},reuseaddr" : $"OPENSSL-LISTEN:{port},reuseaddr,cert={tlsPem},verify=0,openssl-min-proto-version=TLS1.3";
        string connect = tlsPem is null ? $"TCP:{to.Address}:{port}" : $"OPENSSL:{to.Address}:{port},verify=0";
        const string format = "cpu %U %S";
        var listener = to.Namespace.Start("/usr/bin/time", "-f", format, "socat", "-u", "-b", Buffer,
            listen, $"OPEN:{target},creat,trunc");
        var stderr = listener.StandardError.ReadToEndAsync();
        for (var wait = Stopwatch.StartNew(); (await to.Namespace.RunAsync("ss", "-Hltn", $"sport = :{port}")).Stdout.Trim().Length == 0;)
        {
            if (wait.Elapsed > TimeSpan.FromSeconds(10) || listener.HasExited) throw new InvalidOperationException($"socat did not listen on {port}: {await stderr}");
            await Task.Delay(20);
        }
        var clock = Stopwatch.StartNew();
        var sent = await from.Namespace.RunAsync("/usr/bin/time", "-f", format, "socat", "-u", "-b", Buffer, $"OPEN:{source}", connect);
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2))) await listener.WaitForExitAsync(limit.Token);
        await Measure.MustAsync("sync", target);
        double seconds = clock.Elapsed.TotalSeconds;
        if (listener.ExitCode != 0 || new FileInfo(target).Length != new FileInfo(source).Length)
            throw new InvalidOperationException($"socat's copy is incomplete ({listener.ExitCode}): {await stderr}");
        return new Transfer(seconds, $"send {CpuOf(sent.Stderr):0.00}, recv {CpuOf(await stderr):0.00}");
    }

    private static double CpuOf(string timeOutput) =>
        timeOutput.Split('\n').Last(l => l.StartsWith("cpu ")).Split(' ')[1..].Sum(double.Parse);
}
