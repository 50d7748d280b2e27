using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// `ws move NAME PEER --keep-source` (issue #13, the paper's copying operation), between two real daemons in
/// their own namespaces, TCG (a live copy, the default for a running workspace: LiveCopyTests). Each host has a network named "lan" (different subnets). A cold copy boots on
/// the peer from the source's disk (its boot counter goes on, a file written before is there) under a new id;
/// the source keeps its workspace, stopped. A stateful copy of a running guest continues on the peer (a process
/// started before runs there too) but under its own identity: new id, name and MAC, an address from the
/// peer's lan, its own hostname and instance id; the source resumes where it was. The peer records where
/// each copy came from. A name the peer already has is refused before anything moves.
/// </summary>
public sealed class KeepSourceTests : IAsyncLifetime
{
    private PeerHosts _peers = null!;

    public async Task InitializeAsync()
    {
        _peers = await PeerHosts.StartAsync(2);
        await _peers.JoinAllAsync();
        await GuestImages.ImportAsync(_peers[0].Client);
        await _peers[0].Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.71.1.0/24"));
        await _peers[1].Client.CreateNetworkAsync(new CreateNetworkRequest("lan", "10.71.2.0/24"));
    }

    public async Task DisposeAsync() => await _peers.DisposeAsync();

    [Fact]
    public async Task A_cold_copy_boots_on_the_peer_with_the_disk_under_a_new_id_and_the_source_keeps_its_own()
    {
        var source = _peers[0];
        var destination = _peers[1];
        var created = await source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("original", "guest", 1, 128));
        await source.Client.ActAndWaitAsync("original", "start");
        await source.Daemon.WaitForConsoleAsync("original", "WORKSPACE-READY boot=1");
        await source.Daemon.WaitForConsoleAsync("original", "WORKSPACE-COMMANDS"); // its command port listens only from here
        await GuestShell.RunAsync(source.Daemon, "original", "echo written-before-the-copy > /mnt/copied-file && sync");
        await source.Client.ActAndWaitAsync("original", "stop");

        var copied = await source.Daemon.WsAsync("move", "original", "host2", "--keep-source");
        Assert.True(copied.ExitCode == 0, copied.Stderr);
        Assert.Matches(@"^copied original to host2 as original \(ticket [0-9a-f]+.*, Confirm\)", copied.Stdout);

        // The source keeps its workspace as it was: same id, stopped, its overlay in place.
        var kept = await source.Client.GetWorkspaceAsync("original");
        Assert.Equal((created.Id, "Stopped"), (kept.Id, kept.State));
        Assert.True(File.Exists(Path.Combine(source.Daemon.StateDir, "workspaces", created.Id, "disk.qcow2")));

        // The peer's copy is another workspace, which remembers where it came from, with the source's disk.
        var copy = await destination.Client.GetWorkspaceAsync("original");
        Assert.NotEqual(created.Id, copy.Id);
        Assert.Equal($"peer 'host1', workspace 'original' ({created.Id})", copy.CopiedFrom);
        await destination.Client.ActAndWaitAsync("original", "start");
        await destination.Daemon.WaitForConsoleAsync("original", "WORKSPACE-READY boot=2");
        await destination.Daemon.WaitForConsoleAsync("original", "WORKSPACE-COMMANDS"); // its command port listens only from here
        Assert.Contains("written-before-the-copy", await GuestShell.RunAsync(destination.Daemon, "original", "cat /mnt/copied-file"));
        await destination.Client.ActAndWaitAsync("original", "stop");

        // A second copy under the same name is refused before anything moves; another name is not.
        long before = await PeerHosts.ReceivedBytesAsync(destination);
        var taken = await Assert.ThrowsAsync<ApiException>(() => source.Client.MoveAsync("original", new MoveRequest("host2", KeepSource: true)));
        Assert.True(await PeerHosts.ReceivedBytesAsync(destination) - before < 256 * 1024);
        Assert.Equal(409, taken.Status);
        Assert.Contains("already has a workspace named 'original'", taken.Message);
        await source.Client.MoveAsync("original", new MoveRequest("host2", KeepSource: true, Name: "second"));
        Assert.Equal(2, (await destination.Client.ListWorkspacesAsync()).Count(w => w.CopiedFrom?.Contains(created.Id) == true));
    }

    [Fact]
    public async Task A_stateful_copy_continues_on_the_peer_with_its_own_identity_and_the_source_resumes()
    {
        var source = _peers[0];
        var destination = _peers[1];
        await NetworkedGuest.LaunchAsync(source.Daemon, new CreateWorkspaceRequest("runner", "guest", 1, 128, Network: "lan"));
        var original = await source.Client.GetWorkspaceAsync("runner");
        string pid = (await GuestShell.RunAsync(source.Daemon, "runner", "sleep 100000 >/dev/null 2>&1 & echo $!")).Trim();

        var copied = await source.Daemon.WsAsync("move", "runner", "host2", "--keep-source", "--name", "twin", "--mode", "stateful"); // live is the default (LiveCopyTests)
        Assert.True(copied.ExitCode == 0, copied.Stderr);

        // The source runs on from where it was saved: same id, same MAC, the process still there.
        var kept = await source.Client.GetWorkspaceAsync("runner");
        Assert.Equal((original.Id, "Running", original.Nic!.Mac), (kept.Id, kept.State, kept.Nic!.Mac));
        Assert.Contains(pid, await GuestShell.RunAsync(source.Daemon, "runner", $"ls -d /proc/{pid}"));

        // The copy waits, saved, on the peer: a new id, name and MAC on the peer's lan, and its provenance.
        var twin = await destination.Client.GetWorkspaceAsync("twin");
        Assert.Equal("Saved", twin.State);
        Assert.NotEqual(original.Id, twin.Id);
        Assert.NotEqual(original.Nic.Mac, twin.Nic!.Mac);
        Assert.Equal($"peer 'host1', workspace 'runner' ({original.Id})", twin.CopiedFrom);

        // Restored, it continues the source's guest (the process runs) but is told who it is now.
        await destination.Client.ActAndWaitAsync("twin", "start");
        twin = await destination.Client.GetWorkspaceAsync("twin");
        Assert.StartsWith("10.71.2.", twin.Nic!.Address);
        Assert.Contains(pid, await GuestShell.RunAsync(destination.Daemon, "twin", $"ls -d /proc/{pid}"));
        Assert.Equal("twin", (await GuestShell.RunAsync(destination.Daemon, "twin", "cat /proc/sys/kernel/hostname")).Trim());
        Assert.Equal(twin.Id, (await GuestShell.RunAsync(destination.Daemon, "twin", "cat /run/workspace/instance-id")).Trim());
        Assert.Equal(twin.Nic.Mac, (await GuestShell.RunAsync(destination.Daemon, "twin", "cat /sys/class/net/eth0/address")).Trim());
        Assert.Contains($"inet {twin.Nic.Address}/", await GuestShell.RunAsync(destination.Daemon, "twin", "ip -4 addr show eth0"));
        // On the wire too: the copy answers with its own MAC (QEMU's NIC followed the guest's change; the rules let it through), the source with its own.
        await NetworkedGuest.AssertAnswersAsync(destination.Daemon, destination.Namespace, "twin", "10.71.2.1", twin.Nic.Address!, twin.Nic.Mac);
        await NetworkedGuest.AssertAnswersAsync(source.Daemon, source.Namespace, "runner", "10.71.1.1", kept.Nic.Address!, kept.Nic.Mac);

        await destination.Client.ActAndWaitAsync("twin", "stop");
        await source.Client.ActAndWaitAsync("runner", "stop");
    }
}
