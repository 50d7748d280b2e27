using System.Globalization;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Testing;
using Xunit.Abstractions;

namespace Workspaces.Tests.Integration.Live;

/// <summary>
/// The live-migration engine end to end on one host: the test guest moves from one QEMU to another (two
/// overlays on the same base) through the tunnel over loopback mTLS with real peer certificates, NBD +
/// mirror for the disk and migrate for RAM, all through LiveTransfer as the move's phases call it.
/// </summary>
public sealed class LiveMigrationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_guest_moves_live_without_rebooting_and_keeps_every_acknowledged_write()
    {
        var image = await TestGuest.GetAsync();
        string dir = Directory.CreateTempSubdirectory("ws-live-").FullName;
        await using var peer = await LoopbackPeer.StartAsync();
        var transfer = new LiveTransfer(peer.Streams, peer.Channel);
        try
        {
            await using var source = await LocalQemu.StartAsync(image, Path.Combine(dir, "src"), incoming: false);
            await source.BootAsync();
            string bootBefore = (await source.ShellAsync("cat /mnt/boot-count")).Trim();
            await source.ShellAsync("echo written-before-the-move > /mnt/marker && sync");
            // A writer that appends a counter and syncs after each line: whatever it has acknowledged (the file's
            // content at any moment) must still be there, in order and without a hole, after the move.
            await source.ShellAsync("(i=0; while :; do i=$((i+1)); echo $i >> /mnt/seq; sync; done) >/dev/null 2>&1 &");
            await Wait.UntilAsync(async () => Lines(await source.ShellAsync("cat /mnt/seq")).Count >= 20, TimeSpan.FromMinutes(1), "the writer's first lines");
            double uptimeBefore = Uptime(await source.ShellAsync("cat /proc/uptime"));

            await using var destination = await LocalQemu.StartAsync(image, Path.Combine(dir, "dst"), incoming: true);
            var ids = await transfer.PrepareAsync(destination.Guest, destination.Overlay, destination.Dir, peer.Source.Fingerprint, CancellationToken.None);
            int acknowledged = Lines(await source.ShellAsync("cat /mnt/seq")).Count;
            var phases = new List<string>();
            var stats = await transfer.PerformAsync(source.Guest, source.Overlay, source.Dir, peer.Address, peer.Destination.Fingerprint, ids,
                new SyncProgress(p => { if (phases.LastOrDefault() != p.Phase) phases.Add(p.Phase); }), CancellationToken.None);
            await transfer.FinishAsync(destination.Guest, ids, CancellationToken.None);
            output.WriteLine($"downtime {stats.DowntimeMs} ms, total {stats.TotalTimeMs} ms, setup {stats.SetupTimeMs} ms, RAM {stats.RamTransferred >> 20} MiB; phases {string.Join(",", phases)}");

            Assert.Equal("completed", stats.Status);
            Assert.True(stats.DowntimeMs > 0 && stats.TotalTimeMs >= stats.DowntimeMs, $"QEMU's figures: {stats}");
            Assert.Equal(["disk", "ram", "switchover", "done"], phases);
            Assert.NotEqual("running", await source.Guest.QueryStateAsync(CancellationToken.None)); // the source stays stopped: one copy runs
            Assert.Equal("running", await destination.Guest.QueryStateAsync(CancellationToken.None));

            // On the destination: the same boot (no reboot, uptime kept counting), the file, and every line the writer had written.
            Assert.Equal(bootBefore, (await destination.ShellAsync("cat /mnt/boot-count")).Trim());
            Assert.True(Uptime(await destination.ShellAsync("cat /proc/uptime")) > uptimeBefore);
            Assert.Equal("written-before-the-move", (await destination.ShellAsync("cat /mnt/marker")).Trim());
            await Wait.UntilAsync(async () => Lines(await destination.ShellAsync("cat /mnt/seq")).Count > acknowledged + 5,
                TimeSpan.FromMinutes(1), "the writer going on on the destination");
            var seq = Lines(await destination.ShellAsync("cat /mnt/seq"));
            Assert.Equal(Enumerable.Range(1, seq.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)), seq);
            Assert.True(seq.Count > acknowledged);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static List<string> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private static double Uptime(string text) => double.Parse(text.Trim().Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>IProgress that reports on the caller's thread, in order (Progress&lt;T&gt; posts to the pool).</summary>
    private sealed class SyncProgress(Action<LiveMigrationProgress> report) : IProgress<LiveMigrationProgress>
    {
        public void Report(LiveMigrationProgress value) => report(value);
    }
}
