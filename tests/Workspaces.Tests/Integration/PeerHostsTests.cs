using System.Diagnostics;
using System.Security.Cryptography;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// The harness the federation benchmark (tests/bench PullBench) stands on, checked cheaply in CI: a plain
/// TCP copy (socat, the pull's baseline) crosses the namespace cables byte for byte, a sender's limit
/// caps what it sends (not what it receives, which is LimitAsync's direction), and a host's cable counts
/// the bytes it sent. A limit that silently limited nothing would make "two peers beat one" meaningless.
/// </summary>
public sealed class PeerHostsTests
{
    private const int Size = 16 << 20;

    [Fact]
    public async Task A_socat_copy_crosses_the_cables_whole_and_a_sending_limit_caps_it_and_the_cable_counts_it()
    {
        Prerequisites.Require("socat", "tc", "ss");
        await using var hosts = await PeerHosts.StartAsync(2);
        var (one, two) = (hosts[0], hosts[1]);
        string source = Path.Combine(one.Daemon.Dir, "sixteen.raw"), target = Path.Combine(two.Daemon.Dir, "sixteen.raw");
        await File.WriteAllBytesAsync(source, RandomNumberGenerator.GetBytes(Size));

        long before = await PeerHosts.SentBytesAsync(one);
        var free = await CopyAsync(one, two, source, target, 9301);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(source)), SHA256.HashData(File.ReadAllBytes(target)));
        Assert.InRange(await PeerHosts.SentBytesAsync(one) - before, Size, Size + Size / 10); // the data and TCP's headers, no more

        await PeerHosts.LimitSendingAsync(one, "64mbit"); // 8 MB/s: 16 MiB takes about 2.1 s
        var limited = await CopyAsync(one, two, source, target, 9302);
        Assert.True(limited > TimeSpan.FromSeconds(1.8), $"16 MiB at 64mbit took {limited.TotalSeconds:0.00} s (unlimited {free.TotalSeconds:0.00} s)");
        await PeerHosts.LimitSendingAsync(one, null);
        // The other way is not limited: only what one sends is.
        var back = await CopyAsync(two, one, target, source + ".back", 9303);
        Assert.True(back < TimeSpan.FromSeconds(1.8), $"16 MiB back took {back.TotalSeconds:0.00} s after the limit was lifted");
    }

    /// <summary>File to file over TCP, as the benchmark's baseline copies: the receiver listens, the sender sends, both exit.</summary>
    private static async Task<TimeSpan> CopyAsync(PeerHosts.Host from, PeerHosts.Host to, string source, string target, int port)
    {
        var listener = to.Namespace.Start("socat", "-u", $"TCP-LISTEN:{port},reuseaddr", $"OPEN:{target},creat,trunc");
        for (var wait = Stopwatch.StartNew(); (await to.Namespace.RunAsync("ss", "-Hltn", $"sport = :{port}")).Stdout.Trim().Length == 0;)
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(10) && !listener.HasExited, $"socat did not listen on {port}");
            await Task.Delay(20);
        }
        var clock = Stopwatch.StartNew();
        await from.Namespace.RunAsync("socat", "-u", $"OPEN:{source}", $"TCP:{to.Address}:{port}");
        using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60))) await listener.WaitForExitAsync(limit.Token);
        Assert.Equal(0, listener.ExitCode);
        Assert.Equal(new FileInfo(source).Length, new FileInfo(target).Length);
        return clock.Elapsed;
    }
}
