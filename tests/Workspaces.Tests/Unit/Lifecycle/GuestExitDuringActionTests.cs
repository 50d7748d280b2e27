using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Workspaces;
using Workspaces.Testing;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Lifecycle;

/// <summary>
/// A guest may end while an action on it is under way. The action holds the workspace's lock and
/// the supervisor's watcher waits for it, then applies the exit only if the guest is still the
/// workspace's: one state is recorded, the right one, and the watcher (a task nobody awaits) ends
/// without an error, which it could only log.
/// </summary>
public sealed class GuestExitDuringActionTests
{
    [Fact]
    public async Task A_guest_that_powers_off_while_a_stop_waits_is_recorded_Stopped_once()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        await daemon.ImportBootSetAsync();
        var row = await daemon.CreateAsync("web");
        await daemon.ActAsync("web", WorkspaceAction.Start);
        var guest = machine.Hypervisor.Launched.Single();
        var pressed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        guest.Script["powerdown"] = _ => { pressed.TrySetResult(); return Task.CompletedTask; }; // it begins to shut down
        var events = daemon.Subscribe();

        var stop = daemon.ActAsync("web", WorkspaceAction.Stop, new ActionOptions(Timeout: TimeSpan.FromMinutes(5)));
        await pressed.Task.Within("the ACPI power button press");
        guest.PowerOff();
        await stop.Within("the stop, once the guest powered off");

        // The stop and the watcher each let go of their attach; the watcher's is its last act.
        var attach = guest.Attaches.Single();
        await Wait.UntilAsync(() => attach.Disposals == 2 || daemon.Logs.Errors.Count > 0, Soon.Limit, "the watcher finishing with the guest");
        Assert.Empty(daemon.Logs.Errors);
        var now = daemon.Row("web");
        Assert.Equal((WorkspaceStates.Stopped, "stopped: the guest powered off after ACPI powerdown", (int?)null),
            (now.State, now.Reason, now.Pid));
        Assert.Equal(["web:Stopped"], events.States());
        Assert.False(guest.Killed, "the guest powered off by itself, yet was killed");
        Assert.False(daemon.Guests.IsAttached(row.Id));
        Assert.False(machine.Resources.Holds(row.Id));
    }

    [Fact]
    public async Task A_guest_that_dies_while_a_pause_is_in_flight_is_recorded_Failed_and_let_go()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        await daemon.ImportBootSetAsync();
        var row = await daemon.CreateAsync("web");
        await daemon.ActAsync("web", WorkspaceAction.Start);
        var guest = machine.Hypervisor.Launched.Single();
        // QEMU dies with the command unanswered: the caller's pause fails, as on a closed QMP socket.
        guest.Script["pause"] = _ =>
        {
            guest.Crash();
            throw FakeGuestProcess.Gone("pause");
        };
        var events = daemon.Subscribe();

        var e = await Assert.ThrowsAsync<HypervisorException>(() => daemon.ActAsync("web", WorkspaceAction.Pause));
        Assert.Contains("has exited", e.Message);

        var attach = guest.Attaches.Single();
        await Wait.UntilAsync(() => attach.Disposed || daemon.Logs.Errors.Count > 0, Soon.Limit, "the watcher finishing with the guest");
        Assert.Empty(daemon.Logs.Errors);
        var now = daemon.Row("web");
        Assert.Equal((WorkspaceStates.Failed, $"QEMU (pid {guest.Pid}) exited unexpectedly, without a shutdown", (int?)null),
            (now.State, now.Reason, now.Pid));
        Assert.Equal(["web:Failed"], events.States());
        Assert.False(daemon.Guests.IsAttached(row.Id), "the dead guest is still attached: the next action would talk to it");
        Assert.False(machine.Resources.Holds(row.Id));
        // Failed is a state a start leaves from.
        await daemon.ActAsync("web", WorkspaceAction.Start).Within("a start after the failure");
        Assert.Equal(WorkspaceStates.Running, daemon.Row("web").State);
    }
}
