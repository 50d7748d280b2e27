using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Moves of real guests (issue #13), two daemons in their own network namespaces, TCG. Cold: a guest
/// booted on host1 (its disk's boot counter at 1, a marker from its command line, a file written through
/// its shell), stopped, moved and started on host2: the counter goes on to 2 and the marker and file are
/// there. Stateful: a running guest moved and started on host2 continues (same boot, uptime going on, a
/// process started before still runs). After either, host1 keeps no QEMU, directory or record of it, and
/// `ws list --peers` shows it once.
/// </summary>
public sealed class MoveTransferTests : IAsyncLifetime
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
        await source.Daemon.WaitForConsoleAsync("traveller", "WORKSPACE-COMMANDS"); // its command port listens (raw, no echo) only from here
        await GuestShell.RunAsync(source.Daemon, "traveller", "echo written-before-the-move > /mnt/moved-file && sync");
        await source.Client.ActAndWaitAsync("traveller", "stop");
        long overlayBytes = new FileInfo(source.Daemon.Layout.Overlay(created.Id)).Length;

        var moved = await source.Daemon.WsAsync("move", "traveller", "host2", "--progress");
        Assert.True(moved.ExitCode == 0, moved.Stderr);
        Assert.Matches(@"^moved traveller to host2 \(ticket [0-9a-f]+.*, Confirm\)", moved.Stdout);
        // The move was an operation whose progress counted the overlay's bytes as they left this host.
        var operation = (await source.Client.ListOperationsAsync()).Single(o => o.Kind == "move" && o.Target == "traveller");
        Assert.Equal((OperationStatus.Done, "overlay", overlayBytes, overlayBytes),
            (operation.Status, operation.Transfer?.Phase, operation.Transfer?.BytesDone, operation.Transfer?.BytesTotal));

        // Nothing of it is left on the source: no record, no directory (overlay, sockets), no QEMU.
        Assert.DoesNotContain(await source.Client.ListWorkspacesAsync(), w => w.Name == "traveller");
        Assert.False(Directory.Exists(Path.Combine(source.Daemon.StateDir, "workspaces", created.Id)));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc").Select(CmdlineOf), c => c.Contains(created.Id));

        // On the destination it is the same workspace, and its disk is the one it had.
        var there = await destination.Client.GetWorkspaceAsync("traveller");
        Assert.Equal((created.Id, created.Owner, 128), (there.Id, there.Owner, there.MemoryMiB));
        await destination.Client.ActAndWaitAsync("traveller", "start");
        string console = await destination.Daemon.WaitForConsoleAsync("traveller", "WORKSPACE-READY boot=2");
        await destination.Daemon.WaitForConsoleAsync("traveller", "WORKSPACE-COMMANDS"); // a new console here: its command port listens from here
        Assert.Contains("WORKSPACE-MARKERS beforemove", console);
        Assert.Contains("written-before-the-move", await GuestShell.RunAsync(destination.Daemon, "traveller", "cat /mnt/moved-file"));

        // Shown once across the peers, on host2.
        var everywhere = await source.Daemon.WsAsync("list", "--peers");
        Assert.True(everywhere.ExitCode == 0, everywhere.Stderr);
        Assert.Single(everywhere.Stdout.Split('\n'), line => line.Contains("traveller"));
        Assert.Matches(@"(?m)^host2\s+traveller\s+Running\s", everywhere.Stdout);
        await destination.Client.ActAndWaitAsync("traveller", "stop");
    }

    [Fact]
    public async Task A_running_guest_moves_stateful_and_continues_on_the_peer_with_its_uptime_and_processes()
    {
        var source = _peers[0];
        var destination = _peers[1];
        var created = await source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("sleeper", "guest", 1, 128));
        await source.Client.ActAndWaitAsync("sleeper", "start");
        await source.Daemon.WaitForConsoleAsync("sleeper", "WORKSPACE-READY boot=1");
        await source.Daemon.WaitForConsoleAsync("sleeper", "WORKSPACE-COMMANDS"); // its command port listens (raw, no echo) only from here
        string pid = (await GuestShell.RunAsync(source.Daemon, "sleeper", "sleep 100000 >/dev/null 2>&1 & echo $!")).Trim();
        double before = Uptime(await GuestShell.RunAsync(source.Daemon, "sleeper", "cat /proc/uptime"));

        var moved = await source.Client.MoveAsync("sleeper", new MoveRequest("host2", "stateful"));
        Assert.Equal("Confirm", moved.Phase);
        Assert.DoesNotContain(await source.Client.ListWorkspacesAsync(), w => w.Name == "sleeper");
        Assert.False(Directory.Exists(Path.Combine(source.Daemon.StateDir, "workspaces", created.Id)));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc").Select(CmdlineOf), c => c.Contains(created.Id));

        Assert.Equal("Saved", (await destination.Client.GetWorkspaceAsync("sleeper")).State);
        await destination.Client.ActAndWaitAsync("sleeper", "start");
        Assert.Equal("Running", (await destination.Client.GetWorkspaceAsync("sleeper")).State);
        // It did not boot again: its uptime went on from where it was, and the process started before runs.
        double after = Uptime(await GuestShell.RunAsync(destination.Daemon, "sleeper", "cat /proc/uptime"));
        Assert.True(after >= before, $"uptime {after} s on host2, {before} s on host1 before the move");
        Assert.Contains("alive", await GuestShell.RunAsync(destination.Daemon, "sleeper", $"kill -0 {pid} && echo alive"));
        Assert.Contains("boot-count: 1", await GuestShell.RunAsync(destination.Daemon, "sleeper", "echo boot-count: $(cat /mnt/boot-count)"));
        await destination.Client.ActAndWaitAsync("sleeper", "stop");
    }

    private static double Uptime(string procUptime) =>
        double.Parse(procUptime.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static string CmdlineOf(string procDir)
    {
        try { return File.ReadAllText(Path.Combine(procDir, "cmdline")); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
