using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Migration;

/// <summary>
/// A workspace whose move has no known outcome (MigrationUnknown) neither runs nor goes, even forced, until
/// the move is settled; what holds it says which move, which peer, and what the operator can do.
/// </summary>
public sealed class MigrationUnknownTests : IAsyncLifetime
{
    private readonly TestMachine _machine = new();
    private InProcessDaemon _daemon = null!;

    public async Task InitializeAsync()
    {
        _daemon = InProcessDaemon.Start(_machine);
        await _daemon.ImportBootSetAsync();
    }

    public async Task DisposeAsync()
    {
        await _daemon.DisposeAsync();
        _machine.Dispose();
    }

    [Theory]
    [InlineData(WorkspaceAction.Start)]
    [InlineData(WorkspaceAction.Resume)]
    [InlineData(WorkspaceAction.Delete)]
    [InlineData(WorkspaceAction.Stop)]
    [InlineData(WorkspaceAction.Copy)]
    public void Every_action_is_409_naming_ws_move_recover(WorkspaceAction action)
    {
        var e = Assert.Throws<WorkspacesException>(() => WorkspaceStateMachine.Check("w", WorkspaceStates.MigrationUnknown, action));
        Assert.Equal(409, e.Status);
        Assert.Equal($"cannot {action.ToString().ToLowerInvariant()} workspace 'w': a move of it has an unknown outcome (MigrationUnknown); " +
                     "settle it with `ws move NAME PEER --recover` (see `ws show` for which move and peer)", e.Message);
        Assert.Empty(WorkspaceStateMachine.AllowedFrom(WorkspaceStates.MigrationUnknown));
    }

    [Fact]
    public async Task A_held_source_copy_says_which_move_and_peer_and_refuses_even_a_forced_delete()
    {
        var row = await _daemon.CreateAsync("held");
        var move = new MigrationRow(new string('a', 64), "nonce-1", MigrationPhase.SourceRole, row.Id, "held", "host2", MigrationModes.Cold,
            MigrationPhase.Perform, null, null, 1, 1);
        Assert.True(_daemon.Get<MigrationRepository>().TryRecord(move));

        _daemon.Get<MoveRecovery>().HoldSource(move, "this daemon stopped during the move");

        var held = _daemon.Workspaces.FindById(row.Id)!;
        Assert.Equal(WorkspaceStates.MigrationUnknown, held.State);
        Assert.Equal("move to 'host2' (ticket aaaaaaaaaaaa, cold, recorded at Perform) has no known outcome: this daemon stopped during the move; " +
                     "`ws move held host2 --recover` asks the peer now, `--recover --keep-here` resumes this copy if the peer is gone for good", held.Reason);
        var forced = await Assert.ThrowsAsync<WorkspacesException>(() => _daemon.Definitions.DeleteAsync("held", Caller.System, force: true, CancellationToken.None));
        Assert.Equal(409, forced.Status);
        Assert.NotNull(_daemon.Workspaces.FindById(row.Id));
    }

    [Fact]
    public async Task Keep_here_with_the_peer_gone_resumes_the_source_copy_and_closes_the_move()
    {
        var row = await _daemon.CreateAsync("orphan");
        var move = new MigrationRow(new string('b', 64), "nonce-2", MigrationPhase.SourceRole, row.Id, "orphan", "gone-peer", MigrationModes.Cold,
            MigrationPhase.Perform, null, null, 1, 1);
        Assert.True(_daemon.Get<MigrationRepository>().TryRecord(move));
        var recovery = _daemon.Get<MoveRecovery>();
        recovery.HoldSource(move, "test");

        // Without --keep-here a peer that cannot be asked leaves the move open: 503, still held.
        var open = await Assert.ThrowsAsync<WorkspacesException>(() => recovery.ResolveAsync(move, keepHere: false, CancellationToken.None));
        Assert.Equal(503, open.Status);
        Assert.Contains("'gone-peer' is no longer a peer of this host", open.Message);
        Assert.Equal(WorkspaceStates.MigrationUnknown, _daemon.Workspaces.FindById(row.Id)!.State);

        var settled = await recovery.ResolveAsync(move, keepHere: true, CancellationToken.None);
        Assert.Equal(MigrationOutcome.Failed, settled.Outcome);
        Assert.StartsWith("the operator kept this copy (--keep-here)", settled.Detail);
        Assert.Equal(WorkspaceStates.Stopped, _daemon.Workspaces.FindById(row.Id)!.State);
        Assert.Null(recovery.OpenMoveOf("orphan"));
    }
}
