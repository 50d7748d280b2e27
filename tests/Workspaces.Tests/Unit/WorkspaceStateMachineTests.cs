using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Tests.Unit;

/// <summary>The state machine as README and the class's own comment draw it, written out here by hand.</summary>
public sealed class WorkspaceStateMachineTests
{
    [Theory]
    [InlineData(WorkspaceStates.Defined, WorkspaceAction.Start)]
    [InlineData(WorkspaceStates.Defined, WorkspaceAction.Delete)]
    [InlineData(WorkspaceStates.Defined, WorkspaceAction.Checkin)]
    [InlineData(WorkspaceStates.Defined, WorkspaceAction.Copy)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Pause)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Stop)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Reboot)]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Resume)]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Stop)]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Start)]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Delete)]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Checkin)]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Copy)]
    [InlineData(WorkspaceStates.Failed, WorkspaceAction.Start)]
    [InlineData(WorkspaceStates.Failed, WorkspaceAction.Delete)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Snapshot)]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Snapshot)]
    [InlineData(WorkspaceStates.Saved, WorkspaceAction.Start)]
    [InlineData(WorkspaceStates.Saved, WorkspaceAction.Delete)]
    public void Legal_transitions_pass(string state, WorkspaceAction action) =>
        WorkspaceStateMachine.Check("w", state, action);

    [Theory]
    [InlineData(WorkspaceStates.Defined, WorkspaceAction.Pause, "start, delete, checkin, copy")]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Start, "pause, stop, reboot, snapshot")]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Delete, "pause, stop, reboot, snapshot")]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Checkin, "pause, stop, reboot, snapshot")]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Pause, "resume, stop, snapshot")]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Reboot, "resume, stop, snapshot")]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Copy, "resume, stop, snapshot")]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Pause, "start, delete, checkin, copy")]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Stop, "start, delete, checkin, copy")]
    [InlineData(WorkspaceStates.Failed, WorkspaceAction.Resume, "start, delete")]
    [InlineData(WorkspaceStates.Saved, WorkspaceAction.Checkin, "start, delete")] // its disk belongs with its saved RAM
    [InlineData(WorkspaceStates.Saved, WorkspaceAction.Copy, "start, delete")]
    [InlineData(WorkspaceStates.Saved, WorkspaceAction.Resume, "start, delete")]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Snapshot, "start, delete, checkin, copy")]
    [InlineData(WorkspaceStates.Failed, WorkspaceAction.Checkin, "start, delete")]
    public void Illegal_transitions_are_409_naming_state_and_allowed_actions(string state, WorkspaceAction action, string allowed)
    {
        var e = Assert.Throws<WorkspacesException>(() => WorkspaceStateMachine.Check("w", state, action));
        Assert.Equal(409, e.Status);
        Assert.Equal($"cannot {action.ToString().ToLowerInvariant()} workspace 'w': it is {state}; allowed from {state}: {allowed}", e.Message);
        Assert.Equal(allowed.Split(", "), e.Allowed);
    }

    [Theory]
    [InlineData(WorkspaceStates.Defined, "start delete checkin copy")]
    [InlineData(WorkspaceStates.Running, "pause stop reboot snapshot")]
    [InlineData(WorkspaceStates.Paused, "resume stop snapshot")]
    [InlineData(WorkspaceStates.Saved, "start delete")]
    [InlineData(WorkspaceStates.Stopped, "start delete checkin copy")]
    [InlineData(WorkspaceStates.Failed, "start delete")]
    [InlineData("Exploded", "")]
    public void Each_state_allows_exactly_its_actions(string state, string allowed) =>
        Assert.Equal(allowed.Split(' ', StringSplitOptions.RemoveEmptyEntries), WorkspaceStateMachine.AllowedFrom(state));

    [Fact]
    public void Only_running_and_paused_hold_a_guest()
    {
        Assert.True(WorkspaceStateMachine.IsActive(WorkspaceStates.Running));
        Assert.True(WorkspaceStateMachine.IsActive(WorkspaceStates.Paused));
        Assert.False(WorkspaceStateMachine.IsActive(WorkspaceStates.Defined));
        Assert.False(WorkspaceStateMachine.IsActive(WorkspaceStates.Stopped));
        Assert.False(WorkspaceStateMachine.IsActive(WorkspaceStates.Failed));
        Assert.False(WorkspaceStateMachine.IsActive(WorkspaceStates.Saved)); // its RAM is in a file, no QEMU runs
    }
}
