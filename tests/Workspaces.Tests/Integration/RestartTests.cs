using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>Guests outlive the daemon: SIGKILL it, start it again, and it re-attaches or records what died.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Daemon_crash_leaves_guests_running_and_restart_reattaches_or_records_the_dead()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        foreach (var name in new[] { "a", "b" })
        {
            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "guest"));
            await client.ActAndWaitAsync(name, "start");
        }
        await daemon.WaitForConsoleAsync("a", "WORKSPACE-READY");
        await daemon.WaitForConsoleAsync("b", "WORKSPACE-READY");
        int pidA = (await client.GetWorkspaceAsync("a")).Pid!.Value;
        int pidB = (await client.GetWorkspaceAsync("b")).Pid!.Value;

        // 1. SIGKILL with two guests running: both keep running, and come back attached.
        await daemon.KillAsync();
        Assert.True(Processes.IsAlive(pidA) && Processes.IsAlive(pidB), "guests must outlive the daemon");
        await daemon.StartAsync();
        foreach (var (name, pid) in new[] { ("a", pidA), ("b", pidB) })
        {
            var status = await client.GetStatusAsync(name);
            Assert.Equal((WorkspaceStates.Running, "running", pid), (status.State, status.Hypervisor, status.Pid));
        }
        foreach (var (name, pid) in new[] { ("a", pidA), ("b", pidB) })
        {
            await client.ActAndWaitAsync(name, "stop");
            var stopped = await client.GetWorkspaceAsync(name);
            Assert.Equal(WorkspaceStates.Stopped, stopped.State);
            Assert.Contains("powered off", stopped.Reason); // ACPI through the re-attached QMP, not forced
            await Processes.WaitGoneAsync(pid, TimeSpan.FromSeconds(10));
        }

        // 2. A guest that dies while the daemon is down is found dead at restart, with the reason.
        await client.ActAndWaitAsync("b", "start");
        await daemon.WaitForConsoleAsync("b", "WORKSPACE-READY boot=2");
        pidB = (await client.GetWorkspaceAsync("b")).Pid!.Value;
        await daemon.KillAsync();
        System.Diagnostics.Process.GetProcessById(pidB).Kill();
        await Processes.WaitGoneAsync(pidB, TimeSpan.FromSeconds(10));
        await daemon.StartAsync();
        var b = await client.GetWorkspaceAsync("b");
        Assert.Equal(WorkspaceStates.Failed, b.State);
        Assert.Contains("exited while workspacesd was not running", b.Reason);
        Assert.Null(b.Pid);

        // And it can be started again from Failed.
        await client.ActAndWaitAsync("b", "start");
        await daemon.WaitForConsoleAsync("b", "WORKSPACE-READY boot=3");
        await client.ActAndWaitAsync("b", "stop");
        Assert.Empty(daemon.QemuPids());
    }

    [Fact]
    public async Task Qemu_killed_behind_the_daemons_back_is_recorded_as_failed()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("self", "guest"));
        await client.ActAndWaitAsync("self", "start");
        await daemon.WaitForConsoleAsync("self", "WORKSPACE-READY");
        int pid = (await client.GetWorkspaceAsync("self")).Pid!.Value;

        // A crash of QEMU behind the daemon's back (no SHUTDOWN event) is a failure, noticed at once.
        System.Diagnostics.Process.GetProcessById(pid).Kill();
        WorkspaceInfo w;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            await Task.Delay(100);
            w = await client.GetWorkspaceAsync("self");
        } while (w.State == WorkspaceStates.Running && clock.Elapsed < TimeSpan.FromSeconds(15));
        Assert.Equal(WorkspaceStates.Failed, w.State);
        Assert.Contains("exited unexpectedly", w.Reason);
    }
}
