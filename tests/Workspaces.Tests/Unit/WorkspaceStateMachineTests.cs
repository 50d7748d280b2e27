using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Tests.Unit;

public sealed class WorkspaceStateMachineTests
{
    [Theory]
    [InlineData(WorkspaceStates.Defined, WorkspaceAction.Start)]
    [InlineData(WorkspaceStates.Defined, WorkspaceAction.Delete)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Pause)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Stop)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Reboot)]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Resume)]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Stop)]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Start)]
    [InlineData(WorkspaceStates.Failed, WorkspaceAction.Start)]
    [InlineData(WorkspaceStates.Failed, WorkspaceAction.Delete)]
    public void Legal_transitions_pass(string state, WorkspaceAction action) =>
        WorkspaceStateMachine.Check("w", state, action);

    [Theory]
    [InlineData(WorkspaceStates.Defined, WorkspaceAction.Pause)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Start)]
    [InlineData(WorkspaceStates.Running, WorkspaceAction.Delete)]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Pause)]
    [InlineData(WorkspaceStates.Paused, WorkspaceAction.Reboot)]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Pause)]
    [InlineData(WorkspaceStates.Stopped, WorkspaceAction.Stop)]
    [InlineData(WorkspaceStates.Failed, WorkspaceAction.Resume)]
    public void Illegal_transitions_are_409_naming_state_and_allowed_actions(string state, WorkspaceAction action)
    {
        var e = Assert.Throws<WorkspacesException>(() => WorkspaceStateMachine.Check("w", state, action));
        Assert.Equal(409, e.Status);
        Assert.Contains($"it is {state}", e.Message);
        Assert.Equal(WorkspaceStateMachine.AllowedFrom(state), e.Allowed);
        Assert.DoesNotContain(action.ToString().ToLowerInvariant(), e.Allowed!);
    }

    [Fact]
    public void Every_state_allows_something_and_only_active_states_hold_a_guest()
    {
        foreach (var state in new[] { WorkspaceStates.Defined, WorkspaceStates.Running, WorkspaceStates.Paused, WorkspaceStates.Stopped, WorkspaceStates.Failed })
            Assert.NotEmpty(WorkspaceStateMachine.AllowedFrom(state));
        Assert.True(WorkspaceStateMachine.IsActive(WorkspaceStates.Running));
        Assert.True(WorkspaceStateMachine.IsActive(WorkspaceStates.Paused));
        Assert.False(WorkspaceStateMachine.IsActive(WorkspaceStates.Stopped));
    }
}
