using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;
using Workspaces.Testing;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Lifecycle;

/// <summary>
/// A start touches the host step by step (admission, launch, resource limits, run) and records
/// Running last; a step that fails undoes the ones before it. After each failure the workspace is
/// as it was: its recorded state and reason, no guest attached, no resource group held, any QEMU
/// launched killed and let go, and the admission gate and the workspace's lock free for the next try.
/// </summary>
public sealed class StartRevertTests
{
    [Fact]
    public async Task A_start_whose_launch_fails_leaves_the_workspace_Defined_and_holds_nothing()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        await daemon.ImportBootSetAsync();
        var before = await daemon.CreateAsync("web");
        machine.Hypervisor.OnLaunch = (spec, _) => throw new HypervisorException($"QEMU refused to start '{spec.Name}': could not load kernel");

        var e = await Assert.ThrowsAsync<HypervisorException>(() => daemon.ActAsync("web", WorkspaceAction.Start));
        Assert.Contains("could not load kernel", e.Message);

        Assert.Empty(machine.Hypervisor.Launched);
        AssertAsBefore(daemon, before);
        await StartsNowAsync(daemon, machine, "web");
    }

    [Fact]
    public async Task A_start_whose_resource_limits_fail_kills_its_guest_and_leaves_the_workspace_Stopped()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        await daemon.ImportBootSetAsync();
        await daemon.CreateAsync("web");
        await daemon.ActAsync("web", WorkspaceAction.Start);
        await daemon.ActAsync("web", WorkspaceAction.Stop); // the guest honours ACPI: a clean stop
        var before = daemon.Row("web");
        Assert.Equal(WorkspaceStates.Stopped, before.State);
        // The group is made, then placing QEMU in it fails: an attach that fails half-way.
        machine.Resources.OnAttach = (_, pid) => throw new IOException($"cgroup.procs: cannot move pid {pid}: No space left on device");

        var e = await Assert.ThrowsAsync<IOException>(() => daemon.ActAsync("web", WorkspaceAction.Start));
        Assert.Contains("No space left on device", e.Message);

        var launched = machine.Hypervisor.Launched[^1];
        AssertGuestKilledAndLetGo(launched);
        AssertAsBefore(daemon, before);
        await StartsNowAsync(daemon, machine, "web");
    }

    [Fact]
    public async Task A_start_whose_guest_does_not_run_kills_it_and_leaves_the_workspace_Failed()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        await daemon.ImportBootSetAsync();
        await daemon.CreateAsync("web");
        await daemon.ActAsync("web", WorkspaceAction.Start);
        machine.Hypervisor.Launched.Single().Crash(); // QEMU dies behind the daemon's back: Failed
        await Wait.UntilAsync(() => daemon.Row("web").State == WorkspaceStates.Failed, Soon.Limit, "the crash being recorded as Failed");
        var before = daemon.Row("web");
        machine.Hypervisor.OnLaunched = guest => guest.Script["run"] = _ =>
            throw new HypervisorException("QEMU reports 'internal-error' after cont, not running");

        var e = await Assert.ThrowsAsync<HypervisorException>(() => daemon.ActAsync("web", WorkspaceAction.Start));
        Assert.Contains("internal-error", e.Message);

        var launched = machine.Hypervisor.Launched[^1];
        Assert.Contains("run", launched.Received);
        AssertGuestKilledAndLetGo(launched);
        AssertAsBefore(daemon, before);
        machine.Hypervisor.OnLaunched = null;
        await StartsNowAsync(daemon, machine, "web");
    }

    /// <summary>The row as it was before the failed start; nothing on the host is held for it.</summary>
    private static void AssertAsBefore(InProcessDaemon daemon, WorkspaceRow before)
    {
        var now = daemon.Row(before.Name);
        Assert.Equal((before.State, before.Reason, before.Pid, before.Vcpus, before.MemoryMib), (now.State, now.Reason, now.Pid, now.Vcpus, now.MemoryMib));
        Assert.False(daemon.Guests.IsAttached(before.Id), "a guest is still attached to the workspace after its start failed");
        Assert.Equal(0, daemon.Guests.Count);
        Assert.False(daemon.Resources.Holds(before.Id), "the workspace's resource group was not released after its start failed");
        Assert.Empty(daemon.Logs.Errors);
    }

    private static void AssertGuestKilledAndLetGo(FakeGuestProcess guest)
    {
        Assert.False(guest.Alive, $"the guest (pid {guest.Pid}) launched by the failed start is still running");
        Assert.True(guest.Killed, "the failed start's guest ended, but not by KillAsync");
        Assert.All(guest.Attaches, a => Assert.True(a.Disposed, $"the failed start's attach to pid {a.Pid} was not disposed"));
    }

    /// <summary>The next start goes through: the failed one let go of the admission gate and the workspace's lock.</summary>
    private static async Task StartsNowAsync(InProcessDaemon daemon, TestMachine machine, string name)
    {
        machine.Hypervisor.OnLaunch = null;
        machine.Resources.OnAttach = null;
        await daemon.ActAsync(name, WorkspaceAction.Start).Within("a start after the failed one (is the admission gate or the lock still held?)");
        var row = daemon.Row(name);
        Assert.Equal(WorkspaceStates.Running, row.State);
        Assert.Equal(machine.Hypervisor.Launched[^1].Pid, row.Pid);
        Assert.Equal(row.Pid, machine.Resources.PidIn(row.Id));
        Assert.True(daemon.Guests.IsAttached(row.Id));
    }
}
