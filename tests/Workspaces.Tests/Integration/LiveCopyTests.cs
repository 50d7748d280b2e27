using Workspaces.Client;
using Workspaces.Daemon;
using Workspaces.Daemon.Workspaces;
using Workspaces.Testing;
using Xunit.Abstractions;

namespace Workspaces.Tests.Integration;

/// <summary>
/// A live copy (issue #13, `ws move NAME PEER --keep-source`, live by default for a running workspace) between two
/// real daemons in their own namespaces, TCG, each with a network "lan" (different subnets). The source keeps
/// running (the same boot, a process started before still alive), with its id, MAC, address and record; the copy
/// runs on the peer from the source's RAM and disk (that process, and a file written before, are there too) under
/// its own identity: id, name, MAC, address, hostname, instance id, and a vmgenid GUID its source does not have.
/// Each answers from its own address with its own MAC (its gateway's neighbour table says which MAC answered: the
/// anti-spoofing rules let the copy's new one through, and QEMU's receive filter followed the guest's change of
/// MAC), and a write on one after the copy is not on the other.
/// </summary>
public sealed class LiveCopyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PeerHosts _peers = null!;

    public async Task InitializeAsync()
    {
        _peers = await PeerHosts.StartAsync(2);
        await _peers.JoinAllAsync();
        await GuestImages.ImportAsync(_peers[0].Client);
        await _peers[0].Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.72.1.0/24"));
        await _peers[1].Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.72.2.0/24"));
    }

    public async Task DisposeAsync() => await _peers.DisposeAsync();

    [Fact]
    public async Task A_running_workspace_is_copied_live_by_default_and_both_run_each_with_its_own_identity()
    {
        var (source, destination) = (_peers[0], _peers[1]);
        await NetworkedGuest.LaunchAsync(source.Daemon, new CreateWorkspaceRequest("runner", "guest", 1, 128, Network: "lan"));
        var original = await source.Client.GetWorkspaceAsync("runner");
        string pid = (await GuestShell.RunAsync(source.Daemon, "runner", "sleep 100000 >/dev/null 2>&1 & echo $!")).Trim();
        Assert.Contains(pid, await GuestShell.RunAsync(source.Daemon, "runner", $"ls -d /proc/{pid}"));
        await GuestShell.RunAsync(source.Daemon, "runner", "echo written-before-the-copy > /mnt/copied-file && sync");
        string hostname = (await GuestShell.RunAsync(source.Daemon, "runner", "cat /proc/sys/kernel/hostname")).Trim();
        double uptimeBefore = Uptime(await GuestShell.RunAsync(source.Daemon, "runner", "cat /proc/uptime"));

        var copied = await source.Daemon.WsAsync("move", "runner", "host2", "--keep-source", "--name", "twin", "--progress");
        output.WriteLine(copied.Stderr);
        Assert.True(copied.ExitCode == 0, copied.Stderr);
        Assert.Matches(@"^copied runner to host2 as twin \(ticket [0-9a-f]+.*, Confirm\)", copied.Stdout);
        // It went the live way: the operation's last progress holds QEMU's RAM figures (a cold or stateful copy has none).
        // ws polls the progress every 500 ms, so a copy this quick may print one frame or none: each printed is whole.
        Assert.All(copied.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Matches(@"^\s*\d+% (disk|ram|switchover|done) \d+/\d+ MiB", line));
        var operation = (await source.Client.ListOperationsAsync()).Last(o => o.Kind == "move" && o.Target == "runner");
        Assert.Equal((OperationStatus.Done, "done"), (operation.Status, operation.Transfer?.Phase));
        Assert.NotNull(operation.Transfer!.DirtyPagesRate);

        // The source runs on, the same boot: same id, MAC and address, the process alive, its uptime counting.
        var kept = await source.Client.GetWorkspaceAsync("runner");
        Assert.Equal((original.Id, "Running", original.Nic!.Mac, original.Nic.Address), (kept.Id, kept.State, kept.Nic!.Mac, kept.Nic.Address));
        Assert.Contains(pid, await GuestShell.RunAsync(source.Daemon, "runner", $"ls -d /proc/{pid}"));
        Assert.True(Uptime(await GuestShell.RunAsync(source.Daemon, "runner", "cat /proc/uptime")) > uptimeBefore, "the source rebooted");
        Assert.Equal(hostname, (await GuestShell.RunAsync(source.Daemon, "runner", "cat /proc/sys/kernel/hostname")).Trim()); // not told another

        // The copy runs on the peer, the same guest (the process, the file, the uptime) under a new identity.
        var twin = await destination.Client.GetWorkspaceAsync("twin");
        Assert.Equal("Running", twin.State);
        Assert.NotEqual(original.Id, twin.Id);
        Assert.NotEqual(original.Nic.Mac, twin.Nic!.Mac);
        Assert.StartsWith("10.72.2.", twin.Nic.Address);
        Assert.Equal($"peer 'host1', workspace 'runner' ({original.Id})", twin.CopiedFrom);
        Assert.Contains(pid, await GuestShell.RunAsync(destination.Daemon, "twin", $"ls -d /proc/{pid}"));
        Assert.True(Uptime(await GuestShell.RunAsync(destination.Daemon, "twin", "cat /proc/uptime")) > uptimeBefore, "the copy rebooted");
        Assert.Equal("written-before-the-copy", (await GuestShell.RunAsync(destination.Daemon, "twin", "cat /mnt/copied-file")).Trim());
        Assert.Equal("twin", (await GuestShell.RunAsync(destination.Daemon, "twin", "cat /proc/sys/kernel/hostname")).Trim());
        Assert.Equal(twin.Id, (await GuestShell.RunAsync(destination.Daemon, "twin", "cat /run/workspace/instance-id")).Trim());
        Assert.Equal(twin.Nic.Mac, (await GuestShell.RunAsync(destination.Daemon, "twin", "cat /sys/class/net/eth0/address")).Trim());
        Assert.Contains($"inet {twin.Nic.Address}/", await GuestShell.RunAsync(destination.Daemon, "twin", "ip -4 addr show eth0"));

        // Each answers from its own address with its own MAC, through its host's anti-spoofing rules.
        await NetworkedGuest.AssertAnswersAsync(source.Daemon, source.Namespace, "runner", "10.72.1.1", original.Nic.Address!, original.Nic.Mac);
        await NetworkedGuest.AssertAnswersAsync(destination.Daemon, destination.Namespace, "twin", "10.72.2.1", twin.Nic.Address!, twin.Nic.Mac);

        // Two machines now: the copy's VM generation id is not its source's.
        string sourceGuid = GenerationId(source.Daemon, original.Id);
        string copyGuid = GenerationId(destination.Daemon, twin.Id);
        Assert.NotEqual(sourceGuid, copyGuid);

        // Two disks: a write on one after the copy is not on the other.
        await GuestShell.RunAsync(source.Daemon, "runner", "echo on-the-source > /mnt/after && sync");
        await GuestShell.RunAsync(destination.Daemon, "twin", "echo on-the-copy > /mnt/after && sync");
        Assert.Equal("on-the-source", (await GuestShell.RunAsync(source.Daemon, "runner", "cat /mnt/after")).Trim());
        Assert.Equal("on-the-copy", (await GuestShell.RunAsync(destination.Daemon, "twin", "cat /mnt/after")).Trim());

        await destination.Client.ActAndWaitAsync("twin", "stop");
        await source.Client.ActAndWaitAsync("runner", "stop");
    }

    [Fact]
    public async Task A_live_copy_cut_after_the_switch_over_leaves_the_source_running_and_no_copy_on_the_peer()
    {
        var (source, destination) = (_peers[0], _peers[1]);
        // The cut: host1's call asking host2 to run its copy (Finish), after the switch-over completed, fails as a dead link would.
        source.Daemon.Environment["WORKSPACES_FAULT_DROP_LINK_AT"] = MigrationFaults.Point(MigrationPhase.SourceRole, MigrationPhase.Finish);
        await source.Daemon.KillAsync();
        await source.Daemon.StartAsync();
        try
        {
            await NetworkedGuest.LaunchAsync(source.Daemon, new CreateWorkspaceRequest("keeper", "guest", 1, 128, Network: "lan"));
            var original = await source.Client.GetWorkspaceAsync("keeper");
            double uptimeBefore = Uptime(await GuestShell.RunAsync(source.Daemon, "keeper", "cat /proc/uptime"));

            var copied = await source.Daemon.WsAsync("move", "keeper", "host2", "--keep-source", "--name", "lost");
            Assert.NotEqual(0, copied.ExitCode);
            Assert.Contains("live copy of 'keeper' to 'host2' failed", copied.Stderr);

            // A copy never makes the source wait on the peer: it runs on, the same boot, the same QEMU, never MigrationUnknown.
            var kept = await source.Client.GetWorkspaceAsync("keeper");
            Assert.Equal(("Running", original.Pid), (kept.State, kept.Pid));
            Assert.True(Uptime(await GuestShell.RunAsync(source.Daemon, "keeper", "cat /proc/uptime")) > uptimeBefore, "the source rebooted");
            // The peer never ran its copy (no Finish reached it): it was told to drop it, and nothing of it is left there.
            Assert.DoesNotContain(await destination.Client.ListWorkspacesAsync(), w => w.Name == "lost");
            await Wait.UntilAsync(() => !destination.Daemon.QemuPids().Any(), TimeSpan.FromSeconds(60), "the peer's incoming QEMU gone");
            await source.Client.ActAndWaitAsync("keeper", "stop");
        }
        finally
        {
            source.Daemon.Environment.Remove("WORKSPACES_FAULT_DROP_LINK_AT"); // the other tests run without the fault
            await source.Daemon.KillAsync();
            await source.Daemon.StartAsync();
        }
    }

    [Fact]
    public async Task A_source_killed_after_the_switch_over_of_a_live_copy_resumes_its_guest_and_the_peer_keeps_no_copy()
    {
        var (source, destination) = (_peers[0], _peers[1]);
        await NetworkedGuest.LaunchAsync(source.Daemon, new CreateWorkspaceRequest("survivor", "guest", 1, 128, Network: "lan"));
        var original = await source.Client.GetWorkspaceAsync("survivor");
        double uptimeBefore = Uptime(await GuestShell.RunAsync(source.Daemon, "survivor", "cat /proc/uptime"));
        // The fault: host1's daemon dies (SIGKILL) once the switch-over completed and its guest went on, before it asks
        // host2 to run its copy. (A move's source killed there, its guest still paused, is MoveFaultMatrixTests' row.)
        source.Daemon.Environment["WORKSPACES_CRASH_AT"] = MigrationFaults.Point(MigrationPhase.SourceRole, MigrationPhase.Finish);
        await source.Daemon.KillAsync();
        await source.Daemon.StartAsync();
        try
        {
            await Record.ExceptionAsync(() => source.Client.MoveAsync("survivor", new MoveRequest("host2", MigrationModes.Live, KeepSource: true, Name: "orphan")));
            await source.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            source.Daemon.Environment.Remove("WORKSPACES_CRASH_AT");
            await source.Daemon.StartAsync();
        }

        // Restarted, host1 settles the copy with host2: its guest runs on in the same QEMU (recorded with its pid through
        // the MigrationUnknown it passed), the same boot; the copy, which never ran, is dropped there.
        await Wait.UntilAsync(async () => (await source.Client.GetWorkspaceAsync("survivor")).State == "Running"
                && !(await destination.Client.ListWorkspacesAsync()).Any(w => w.Name == "orphan") && !destination.Daemon.QemuPids().Any(),
            TimeSpan.FromSeconds(120), "host1's guest running again and host2 holding no copy");
        var kept = await source.Client.GetWorkspaceAsync("survivor");
        Assert.Equal((original.Id, original.Pid), (kept.Id, kept.Pid));
        Assert.True(Uptime(await GuestShell.RunAsync(source.Daemon, "survivor", "cat /proc/uptime")) > uptimeBefore, "the source rebooted");
        Assert.Equal("running", (await GuestShell.RunAsync(source.Daemon, "survivor", "echo running")).Trim());
        await source.Client.ActAndWaitAsync("survivor", "stop");
    }

    /// <summary>The vmgenid GUID the workspace's QEMU was launched with.</summary>
    private static string GenerationId(DaemonProcess daemon, string id)
    {
        string cmdline = daemon.QemuPids().Select(pid => File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ')).Single(c => c.Contains(id));
        var match = System.Text.RegularExpressions.Regex.Match(cmdline, @"vmgenid,guid=([0-9a-f-]{36})");
        Assert.True(match.Success, $"no vmgenid device in {cmdline}");
        return match.Groups[1].Value;
    }

    private static double Uptime(string procUptime) =>
        double.Parse(procUptime.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
}
