using System.Diagnostics;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration.Live;

/// <summary>
/// A live migration that fails before the switch-over leaves the source as it was: running, no mirror job,
/// no NBD client node left behind (incus#4054), its guest still answering.
/// </summary>
public sealed class LiveMigrationFailureTests
{
    [Theory]
    [InlineData("before-perform")] // the destination is gone before the source starts: the NBD node cannot connect
    [InlineData("ram")]            // the destination dies while RAM moves, with the mirror running
    public async Task A_destination_that_dies_before_the_switch_over_leaves_the_source_running_and_clean(string when)
    {
        var image = await TestGuest.GetAsync();
        string dir = Directory.CreateTempSubdirectory("ws-live-fail-").FullName;
        await using var peer = await LoopbackPeer.StartAsync();
        var transfer = new LiveTransfer(peer.Streams, peer.Channel);
        try
        {
            await using var source = await LocalQemu.StartAsync(image, Path.Combine(dir, "src"), incoming: false);
            await source.BootAsync();
            await source.ShellAsync("echo still-here > /mnt/marker && sync");
            await using var destination = await LocalQemu.StartAsync(image, Path.Combine(dir, "dst"), incoming: true);
            var ids = await transfer.PrepareAsync(destination.Guest, destination.Overlay, destination.Dir, peer.Source.Fingerprint, CancellationToken.None);
            using var target = Process.GetProcessById(destination.Guest.Pid);
            if (when == "before-perform") target.Kill();
            var seen = new List<string>();
            var progress = new SyncProgress(p =>
            {
                seen.Add(p.Phase);
                if (p.Phase == when && !target.HasExited) target.Kill();
            });

            var failure = await Assert.ThrowsAsync<HypervisorException>(() =>
                transfer.PerformAsync(source.Guest, source.Overlay, source.Dir, peer.Address, peer.Destination.Fingerprint, ids, progress, CancellationToken.None)
                    .WaitAsync(TimeSpan.FromMinutes(3)));

            Assert.IsNotType<MigrationSwitchoverException>(failure);
            if (when == "ram") Assert.Contains("ram", seen);
            Assert.DoesNotContain("switchover", seen);
            Assert.Equal("running", await source.Guest.QueryStateAsync(CancellationToken.None));
            Assert.False(await source.Qmp.BlockJobExistsAsync("live-mirror", CancellationToken.None));
            Assert.False(await source.Qmp.NodeExistsAsync("live-nbd", CancellationToken.None));
            Assert.Equal("still-here", (await source.ShellAsync("cat /mnt/marker")).Trim());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class SyncProgress(Action<LiveMigrationProgress> report) : IProgress<LiveMigrationProgress>
    {
        public void Report(LiveMigrationProgress value) => report(value);
    }
}
