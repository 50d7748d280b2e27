using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// A cold move of a guest that has run (issue #13): booted on host1 (its disk's boot counter at 1, a
/// marker from its command line and a file written through its shell), stopped, moved to host2, and
/// started there: the counter goes on to 2, the marker and the file are on its disk, and host1 keeps no
/// QEMU, overlay or record of it; `ws list --peers` shows it once. Real guests under TCG, two daemons in
/// their own network namespaces.
/// </summary>
public sealed class ColdMoveTests : IAsyncLifetime
{
    private PeerHosts _peers = null!;

    public async Task InitializeAsync()
    {
        _peers = await PeerHosts.StartAsync(2);
        await _peers.JoinAllAsync();
        await GuestImages.ImportAsync(_peers[0].Client);
    }

    public async Task DisposeAsync() => await _peers.DisposeAsync();

    [Fact]
    public async Task A_stopped_guest_moves_cold_and_boots_on_the_peer_with_its_disk_intact_and_nothing_left_on_the_source()
    {
        var source = _peers[0];
        var destination = _peers[1];
        var created = await source.Client.CreateWorkspaceAsync(
            new CreateWorkspaceRequest("traveller", "guest", 1, 128, await GuestImages.CmdlineWithMarkAsync("beforemove")));
        await source.Client.ActAndWaitAsync("traveller", "start");
        await source.Daemon.WaitForConsoleAsync("traveller", "WORKSPACE-READY boot=1");
        await GuestShell.RunAsync(source.Daemon, "traveller", "echo written-before-the-move > /mnt/moved-file && sync");
        await source.Client.ActAndWaitAsync("traveller", "stop");

        var moved = await source.Client.MoveAsync("traveller", new MoveRequest("host2"));
        Assert.Equal("Confirm", moved.Phase);

        // Nothing of it is left on the source: no record, no directory (overlay, sockets), no QEMU.
        Assert.DoesNotContain(await source.Client.ListWorkspacesAsync(), w => w.Name == "traveller");
        Assert.False(Directory.Exists(Path.Combine(source.Daemon.StateDir, "workspaces", created.Id)));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc").Select(CmdlineOf), c => c.Contains(created.Id));

        // On the destination it is the same workspace, and its disk is the one it had.
        var there = await destination.Client.GetWorkspaceAsync("traveller");
        Assert.Equal((created.Id, created.Owner, 128), (there.Id, there.Owner, there.MemoryMiB));
        await destination.Client.ActAndWaitAsync("traveller", "start");
        string console = await destination.Daemon.WaitForConsoleAsync("traveller", "WORKSPACE-READY boot=2");
        Assert.Contains("WORKSPACE-MARKERS beforemove", console);
        Assert.Contains("written-before-the-move", await GuestShell.RunAsync(destination.Daemon, "traveller", "cat /mnt/moved-file"));

        // Shown once across the peers, on host2.
        var everywhere = await source.Daemon.WsAsync("list", "--peers");
        Assert.True(everywhere.ExitCode == 0, everywhere.Stderr);
        Assert.Single(everywhere.Stdout.Split('\n'), line => line.Contains("traveller"));
        Assert.Matches(@"(?m)^host2\s+traveller\s+Running\s", everywhere.Stdout);
        await destination.Client.ActAndWaitAsync("traveller", "stop");
    }

    private static string CmdlineOf(string procDir)
    {
        try { return File.ReadAllText(Path.Combine(procDir, "cmdline")); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
