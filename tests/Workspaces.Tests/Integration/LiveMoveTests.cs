using System.Globalization;
using Workspaces.Client;
using Workspaces.Daemon;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;
using Workspaces.Testing;
using Xunit.Abstractions;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Live moves of real guests (issue #13), two daemons in their own network namespaces, TCG, each with a
/// network "lan" (different subnets: the guest is given the address leased on its new host). A running
/// guest moved by a plain `ws move` (live is the default) goes on on the peer: same boot, uptime counting,
/// a process started before still runs, a file and every write it acknowledged before the switch-over are
/// there; the source keeps no QEMU, directory, record, rules or DHCP entry. Faults: the link cut after the
/// switch-over leaves the source paused in MigrationUnknown and nothing running on the peer; the peer's
/// QEMU killed during Perform leaves the source running and the move Failed.
/// </summary>
public sealed class LiveMoveTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PeerHosts _peers = null!;

    public async Task InitializeAsync()
    {
        _peers = await PeerHosts.StartAsync(2);
        await _peers.JoinAllAsync();
        await GuestImages.ImportAsync(_peers[0].Client);
        await _peers[0].Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.66.1.0/24"));
        await _peers[1].Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.66.2.0/24"));
    }

    public async Task DisposeAsync() => await _peers.DisposeAsync();

    [Fact]
    public async Task A_running_guest_moves_live_by_default_without_rebooting_and_keeps_every_acknowledged_write()
    {
        var (source, destination) = (_peers[0], _peers[1]);
        var created = await BootAsync(source, "roamer");
        // A process started before the move, seen alive here first.
        await GuestShell.RunAsync(source.Daemon, "roamer", "sleep 100000 >/dev/null 2>&1 & echo $! > /run/sleeper");
        Assert.Contains("alive", await GuestShell.RunAsync(source.Daemon, "roamer", "kill -0 $(cat /run/sleeper) && echo alive"));
        await GuestShell.RunAsync(source.Daemon, "roamer", "echo written-before-the-move > /mnt/moved-file && sync");
        // A writer that appends a sequence number and syncs after each: what it has written at any moment is acknowledged.
        await GuestShell.RunAsync(source.Daemon, "roamer", "(i=0; while :; do i=$((i+1)); echo $i >> /mnt/seq; sync; done) >/dev/null 2>&1 &");
        await Wait.UntilAsync(async () => Lines(await GuestShell.RunAsync(source.Daemon, "roamer", "cat /mnt/seq")).Count >= 20,
            TimeSpan.FromMinutes(1), "the writer's first lines");
        double uptimeBefore = Uptime(await GuestShell.RunAsync(source.Daemon, "roamer", "cat /proc/uptime"));
        int acknowledged = Lines(await GuestShell.RunAsync(source.Daemon, "roamer", "cat /mnt/seq")).Count;
        string mac = (await source.Client.GetWorkspaceAsync("roamer")).Nic!.Mac;

        var moved = await source.Daemon.WsAsync("move", "roamer", "host2", "--progress");
        Assert.True(moved.ExitCode == 0, moved.Stderr);
        Assert.Matches(@"^moved roamer to host2 \(ticket [0-9a-f]+.*, Confirm\)\n$", moved.Stdout); // the progress went to stderr only
        output.WriteLine(moved.Stderr);
        Assert.Matches(@"(?m)^\s*\d+% (disk|ram|switchover|done) \d+/\d+ MiB", moved.Stderr); // polled: a quick move may show only its last frame
        // The move was an operation: its last progress is QEMU's final figures.
        var operation = (await source.Client.ListOperationsAsync()).Single(o => o.Kind == "move" && o.Target == "roamer");
        Assert.Equal((OperationStatus.Done, "done"), (operation.Status, operation.Transfer?.Phase));
        Assert.True(operation.Transfer!.BytesTotal >= 128L << 20, $"RAM total {operation.Transfer.BytesTotal}");

        // Nothing of it is left on the source: no record, directory, QEMU, rules or DHCP entry.
        Assert.DoesNotContain(await source.Client.ListWorkspacesAsync(), w => w.Name == "roamer");
        Assert.False(Directory.Exists(source.Daemon.Layout.Dir(created.Id)));
        Assert.DoesNotContain(source.Daemon.QemuPids(), pid => CmdlineOf(pid).Contains(created.Id));
        Assert.DoesNotContain(created.Id, (await source.Namespace.RunAsync("nft", "-j", "list", "ruleset")).Stdout);
        Assert.All(source.Daemon.DnsmasqPids(), pid => Assert.DoesNotContain(mac, CmdlineOf(pid), StringComparison.OrdinalIgnoreCase));

        // On the destination it runs, the same boot: uptime went on, the process lives, the file and every acknowledged write are there.
        var there = await destination.Client.GetWorkspaceAsync("roamer");
        Assert.Equal(("Running", created.Id, mac), (there.State, there.Id, there.Nic!.Mac));
        Assert.StartsWith("10.66.2.", there.Nic!.Address);
        Assert.True(Uptime(await GuestShell.RunAsync(destination.Daemon, "roamer", "cat /proc/uptime")) > uptimeBefore);
        Assert.Contains("alive", await GuestShell.RunAsync(destination.Daemon, "roamer", "kill -0 $(cat /run/sleeper) && echo alive"));
        Assert.Equal("1", (await GuestShell.RunAsync(destination.Daemon, "roamer", "cat /mnt/boot-count")).Trim());
        Assert.Equal("written-before-the-move", (await GuestShell.RunAsync(destination.Daemon, "roamer", "cat /mnt/moved-file")).Trim());
        await Wait.UntilAsync(async () => Lines(await GuestShell.RunAsync(destination.Daemon, "roamer", "cat /mnt/seq")).Count > acknowledged + 5,
            TimeSpan.FromMinutes(1), "the writer going on on the destination");
        var seq = Lines(await GuestShell.RunAsync(destination.Daemon, "roamer", "cat /mnt/seq"));
        Assert.Equal(Enumerable.Range(1, seq.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)), seq); // in order, no hole
        Assert.True(seq.Count > acknowledged, $"{seq.Count} lines on host2, {acknowledged} acknowledged on host1 before the move");
        // Its new address is its own on the guest's side too.
        Assert.Contains(there.Nic!.Address!, await GuestShell.RunAsync(destination.Daemon, "roamer", "ip -4 addr show eth0"));

        var everywhere = await source.Daemon.WsAsync("list", "--peers");
        Assert.True(everywhere.ExitCode == 0, everywhere.Stderr);
        Assert.Single(everywhere.Stdout.Split('\n'), line => line.Contains("roamer"));
        Assert.Matches(@"(?m)^host2\s+roamer\s+Running\s", everywhere.Stdout);
    }

    [Fact]
    public async Task A_link_cut_after_the_switch_over_is_an_unknown_outcome_that_the_resolver_settles_with_the_source_going_on()
    {
        var (source, destination) = (_peers[0], _peers[1]);
        // The cut: host1's call asking host2 to run its copy (Finish), after the switch-over completed, fails as a dead link would.
        source.Daemon.Environment["WORKSPACES_FAULT_DROP_LINK_AT"] = MigrationFaults.Point(MigrationPhase.SourceRole, MigrationPhase.Finish);
        await source.Daemon.KillAsync();
        await source.Daemon.StartAsync();
        try
        {
            await CutAndSettleAsync(source, destination);
        }
        finally
        {
            source.Daemon.Environment.Remove("WORKSPACES_FAULT_DROP_LINK_AT"); // the other tests run without the fault
            await source.Daemon.KillAsync();
            await source.Daemon.StartAsync();
        }
    }

    private async Task CutAndSettleAsync(PeerHosts.Host source, PeerHosts.Host destination)
    {
        var created = await BootAsync(source, "stranded");
        await source.Daemon.WaitForConsoleAsync("stranded", "WORKSPACE-COMMANDS");
        double uptimeBefore = Uptime(await GuestShell.RunAsync(source.Daemon, "stranded", "cat /proc/uptime"));

        var moved = await source.Daemon.WsAsync("move", "stranded", "host2");
        output.WriteLine(moved.Stderr);
        Assert.NotEqual(0, moved.ExitCode);
        Assert.Contains("unknown outcome", moved.Stderr);
        Assert.Contains("ws move stranded host2 --recover", moved.Stderr);

        // The source held its copy paused (MigrationUnknown: nothing may run or drop it; MigrationUnknownTests checks
        // the refusals) and asked the peer in the background: the peer never ran its copy (no Finish reached it),
        // so it dropped it and the source's guest goes on where it stood, not rebooted.
        await Wait.UntilAsync(async () => (await source.Client.GetWorkspaceAsync("stranded")).State == WorkspaceStates.Running,
            TimeSpan.FromMinutes(2), "the resolver settling the move with the source running again");
        Assert.True(Uptime(await GuestShell.RunAsync(source.Daemon, "stranded", "cat /proc/uptime")) > uptimeBefore, "the guest rebooted");
        Assert.Single(source.Daemon.QemuPids(), pid => CmdlineOf(pid).Contains(created.Id));
        await Wait.UntilAsync(() => !destination.Daemon.QemuPids().Any(pid => CmdlineOf(pid).Contains(created.Id)),
            TimeSpan.FromSeconds(60), "the peer's incoming QEMU gone");
        Assert.DoesNotContain(await destination.Client.ListWorkspacesAsync(), w => w.Name == "stranded");
    }

    [Fact]
    public async Task The_peers_QEMU_killed_during_Perform_leaves_the_source_running_and_the_move_failed()
    {
        var (source, destination) = (_peers[0], _peers[1]);
        var created = await BootAsync(source, "survivor");

        var moving = source.Daemon.WsAsync("move", "survivor", "host2");
        // Killed once the source recorded Perform: Prepare has answered, so the failure is the transfer's, not Prepare's.
        await Wait.UntilAsync(() => PhaseOf(source, created.Id) == MigrationPhase.Perform || moving.IsCompleted, TimeSpan.FromMinutes(2), "the source's Perform");
        int incoming = destination.Daemon.QemuPids().Single(pid => CmdlineOf(pid).Contains(created.Id));
        System.Diagnostics.Process.GetProcessById(incoming).Kill();

        var moved = await moving;
        output.WriteLine(moved.Stderr);
        Assert.NotEqual(0, moved.ExitCode);
        Assert.Contains("failed", moved.Stderr);
        Assert.Contains("it runs on here", moved.Stderr);

        // The source never stopped; the peer keeps nothing of it.
        Assert.Equal("Running", (await source.Client.GetWorkspaceAsync("survivor")).State);
        Assert.Equal("up", (await GuestShell.RunAsync(source.Daemon, "survivor", "echo up")).Trim());
        await Wait.UntilAsync(async () => !(await destination.Client.ListWorkspacesAsync()).Any(w => w.Name == "survivor"),
            TimeSpan.FromMinutes(1), "the destination dropping its copy's record");
        Assert.False(Directory.Exists(destination.Daemon.Layout.Dir(created.Id)));
        Assert.DoesNotContain(destination.Daemon.QemuPids(), pid => CmdlineOf(pid).Contains(created.Id));
    }

    [Fact]
    public async Task The_sources_QEMU_killed_during_Perform_fails_the_move_and_leaves_one_copy_on_the_source_with_its_disk()
    {
        var (source, destination) = (_peers[0], _peers[1]);
        var created = await BootAsync(source, "casualty");
        await source.Daemon.WaitForConsoleAsync("casualty", "WORKSPACE-COMMANDS");
        await GuestShell.RunAsync(source.Daemon, "casualty", "echo kept-through-the-crash > /mnt/kept && sync");
        int qemu = source.Daemon.QemuPids().Single(pid => CmdlineOf(pid).Contains(created.Id));

        var moving = source.Daemon.WsAsync("move", "casualty", "host2");
        string exportSocket = Path.Combine(destination.Daemon.Layout.Dir(created.Id), "live-nbd.sock");
        await Wait.UntilAsync(() => File.Exists(exportSocket) || moving.IsCompleted, TimeSpan.FromMinutes(2), "the destination's NBD export");
        System.Diagnostics.Process.GetProcessById(qemu).Kill();

        var moved = await moving;
        output.WriteLine(moved.Stderr);
        Assert.NotEqual(0, moved.ExitCode);

        // Nothing runs anywhere; the peer keeps nothing of it; the source keeps its record and a disk that boots with its file.
        await Wait.UntilAsync(async () => !(await destination.Client.ListWorkspacesAsync()).Any(w => w.Name == "casualty"),
            TimeSpan.FromMinutes(1), "the destination dropping its copy's record");
        Assert.DoesNotContain(destination.Daemon.QemuPids(), pid => CmdlineOf(pid).Contains(created.Id));
        await Wait.UntilAsync(async () => (await source.Client.GetWorkspaceAsync("casualty")).State is "Stopped" or "Failed",
            TimeSpan.FromMinutes(1), "the source recording its guest's death");
        await source.Client.ActAndWaitAsync("casualty", "start");
        await source.Daemon.WaitForConsoleAsync("casualty", "WORKSPACE-READY boot=2");
        await source.Daemon.WaitForConsoleAsync("casualty", "WORKSPACE-COMMANDS");
        Assert.Contains("kept-through-the-crash", await GuestShell.RunAsync(source.Daemon, "casualty", "cat /mnt/kept"));
    }

    private static string? PhaseOf(PeerHosts.Host host, string workspaceId) =>
        new MigrationRepository(new Database(Path.Combine(host.Daemon.StateDir, "workspaces.db"))).List().LastOrDefault(m => m.WorkspaceId == workspaceId)?.Phase;

    private static async Task<WorkspaceInfo> BootAsync(PeerHosts.Host host, string name)
    {
        var created = await host.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "guest", 1, 128, Network: "lan"));
        await host.Client.ActAndWaitAsync(name, "start");
        await host.Daemon.WaitForConsoleAsync(name, "WORKSPACE-READY boot=1");
        return created;
    }

    private static List<string> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private static double Uptime(string procUptime) => double.Parse(procUptime.Trim().Split(' ')[0], CultureInfo.InvariantCulture);

    private static string CmdlineOf(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
