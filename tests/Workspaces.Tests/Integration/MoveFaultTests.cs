using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Daemon;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// A source daemon killed (SIGKILL, through the crash-point hook) right after the destination admitted
/// its ticket: at its next start it asks the destination and both sides record the move as failed,
/// nothing having moved. Two real daemons in their own network namespaces.
/// </summary>
public sealed class MoveFaultTests : IAsyncLifetime
{
    private PeerHosts _peers = null!;

    public async Task InitializeAsync()
    {
        _peers = await PeerHosts.StartAsync(2);
        await _peers.JoinAllAsync();
        await GuestImages.ImportAsync(_peers[0].Client);
        await _peers[0].Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("mover", "guest", 1, 128));
    }

    public async Task DisposeAsync() => await _peers.DisposeAsync();

    [Fact]
    public async Task A_source_killed_after_Prepare_settles_the_move_with_the_destination_at_its_next_start()
    {
        var source = _peers[0].Daemon;
        source.Environment["WORKSPACES_CRASH_AT"] = MigrationFaults.Point(MigrationPhase.SourceRole, MigrationPhase.Prepare);
        await source.KillAsync();
        await source.StartAsync();

        var call = await Record.ExceptionAsync(() => source.Client.MoveAsync("mover", new MoveRequest("host2")));
        Assert.NotNull(call);
        Assert.IsNotType<ApiException>(call); // the daemon died mid-request: no answer at all
        await source.WaitForExitAsync(TimeSpan.FromSeconds(30));

        var begun = Rows(source.StateDir).Single();
        Assert.Equal((MigrationPhase.SourceRole, MigrationPhase.Begin, (string?)null), (begun.Role, begun.Phase, begun.Outcome));
        var prepared = Rows(_peers[1].Daemon.StateDir).Single();
        Assert.Equal((begun.TicketHash, MigrationPhase.DestinationRole, MigrationPhase.Prepare, (string?)null),
            (prepared.TicketHash, prepared.Role, prepared.Phase, prepared.Outcome));

        source.Environment.Remove("WORKSPACES_CRASH_AT");
        await source.StartAsync();
        var settled = Stopwatch.StartNew();
        while (Rows(source.StateDir).Single().Outcome is null)
        {
            Assert.True(settled.Elapsed < TimeSpan.FromSeconds(60), "the source did not settle the move after its restart");
            await Task.Delay(100);
        }
        var after = Rows(source.StateDir).Single();
        Assert.Equal(MigrationOutcome.Failed, after.Outcome);
        Assert.Contains("closed its side", after.Detail);
        var destination = Rows(_peers[1].Daemon.StateDir).Single();
        Assert.Equal((MigrationOutcome.Failed, "aborted by the source before Perform"), (destination.Outcome, destination.Detail));

        // The spent ticket is gone for good; a new move gets a new ticket, which the destination admits, and the move completes.
        var again = await source.Client.MoveAsync("mover", new MoveRequest("host2"));
        Assert.Equal(MigrationPhase.Confirm, again.Phase);
        var rows = Rows(_peers[1].Daemon.StateDir);
        Assert.Equal(2, rows.Count);
        Assert.Equal((again.TicketHash, MigrationOutcome.Succeeded), (rows[1].TicketHash, rows[1].Outcome));

    }

    [Fact]
    public async Task A_link_cut_after_Prepare_answers_504_and_the_move_is_settled_with_the_destination_at_the_next_start()
    {
        var source = _peers[0].Daemon;
        source.Environment["WORKSPACES_FAULT_DROP_LINK_AT"] = MigrationFaults.Point(MigrationPhase.SourceRole, MigrationPhase.Prepare);
        await source.KillAsync();
        await source.StartAsync();

        var cut = await Assert.ThrowsAsync<ApiException>(() => source.Client.MoveAsync("mover", new MoveRequest("host2")));
        Assert.Equal(504, cut.Status);
        Assert.Contains("link was cut", cut.Message);
        // The live daemon's resolver may already be settling it in the background; the restart settles it in any case.

        source.Environment.Remove("WORKSPACES_FAULT_DROP_LINK_AT");
        await source.KillAsync();
        await source.StartAsync();
        var settled = Stopwatch.StartNew();
        // The destination records its side before it answers, the source after the answer: wait for both.
        while (Rows(_peers[1].Daemon.StateDir).Single().Outcome is null || Rows(source.StateDir).Single().Outcome is null)
        {
            Assert.True(settled.Elapsed < TimeSpan.FromSeconds(60), "the move was not settled on both sides after the source's restart");
            await Task.Delay(100);
        }
        Assert.Equal(MigrationOutcome.Failed, Rows(_peers[1].Daemon.StateDir).Single().Outcome);
        Assert.Equal(MigrationOutcome.Failed, Rows(source.StateDir).Single().Outcome);
    }

    private static IReadOnlyList<MigrationRow> Rows(string stateDir) =>
        new MigrationRepository(new Database(Path.Combine(stateDir, "workspaces.db"))).List();
}
