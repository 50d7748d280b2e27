using Workspaces.Client;
using Workspaces.Daemon.Workspaces;
using Workspaces.Testing;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Lifecycle;

/// <summary>
/// Guests outlive the daemon. At start, GuestSupervisor.ReattachAllAsync reconciles SQLite with the
/// guests on the machine: live ones are re-attached with the state their hypervisor reports, dead
/// ones recorded Failed with their groups released, and a QEMU no committed state claims is removed.
/// Each test runs one daemon, lets it go (as workspacesd does on stop or crash), changes the
/// machine behind its back, and starts another daemon on the same state dir and machine.
/// </summary>
public sealed class ReattachTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Live_guests_are_reattached_with_the_state_their_hypervisor_reports_and_watched_again()
    {
        using var machine = new TestMachine();
        await using (var first = InProcessDaemon.Start(machine))
        {
            await first.ImportBootSetAsync();
            foreach (var name in new[] { "web", "db", "app", "mover" })
            {
                await first.CreateAsync(name);
                await first.ActAsync(name, WorkspaceAction.Start);
            }
            await first.ActAsync("app", WorkspaceAction.Pause);
        }
        var (web, db, app, mover) = (machine.Hypervisor.Launched[0], machine.Hypervisor.Launched[1], machine.Hypervisor.Launched[2], machine.Hypervisor.Launched[3]);
        // While no daemon runs: db's guest stops its vCPUs (an I/O error, say); someone resumes app's; mover's ends a
        // live migration's switch-over (postmigrate: stopped, though not "paused").
        db.Pause();
        app.Resume();
        mover.SwitchedOver();

        await using var second = InProcessDaemon.Start(machine);
        await second.Guests.ReattachAllAsync(None);

        Assert.Equal((WorkspaceStates.Running, "started (tcg)", web.Pid), State(second, "web"));
        Assert.Equal((WorkspaceStates.Paused, "re-attached; QEMU reports paused", db.Pid), State(second, "db"));
        Assert.Equal((WorkspaceStates.Running, "re-attached; QEMU reports running", app.Pid), State(second, "app"));
        Assert.Equal((WorkspaceStates.Paused, "re-attached; QEMU reports postmigrate", mover.Pid), State(second, "mover"));
        foreach (var guest in new[] { web, db, app, mover })
        {
            Assert.True(guest.Alive && !guest.Killed, $"re-attaching harmed the guest of pid {guest.Pid}");
            Assert.Equal(2, guest.Attaches.Count); // the first daemon's, let go, and the second's
            Assert.True(second.Guests.IsAttached(second.Row(guest.Spec.Name).Id));
            Assert.True(machine.Resources.Holds(second.Row(guest.Spec.Name).Id));
        }
        Assert.Contains("query-state", db.Received);

        // Re-attached means supervised: a crash now is noticed and recorded.
        web.Crash();
        await Wait.UntilAsync(() => second.Row("web").State == WorkspaceStates.Failed, Soon.Limit, "the re-attached guest's crash being recorded");
        Assert.False(second.Guests.IsAttached(second.Row("web").Id));
        Assert.Empty(second.Logs.Errors);
    }

    [Fact]
    public async Task A_guest_that_died_while_no_daemon_ran_is_recorded_Failed_and_its_group_released()
    {
        using var machine = new TestMachine();
        await using (var first = InProcessDaemon.Start(machine))
        {
            await first.ImportBootSetAsync();
            await first.CreateAsync("web");
            await first.ActAsync("web", WorkspaceAction.Start);
            await first.CreateAsync("big");
            await first.ActAsync("big", WorkspaceAction.Start);
        }
        var (web, big) = (machine.Hypervisor.Launched[0], machine.Hypervisor.Launched[1]);
        web.Crash();
        big.Crash();
        await using var second = InProcessDaemon.Start(machine);
        string bigId = second.Row("big").Id;
        machine.Resources.OomKills[bigId] = 1; // the kernel's OOM killer ended big's QEMU at its memory limit

        await second.Guests.ReattachAllAsync(None);

        Assert.Equal((WorkspaceStates.Failed, $"QEMU (pid {web.Pid}) exited while workspacesd was not running", (int?)null), State(second, "web"));
        var (state, reason, pid) = State(second, "big");
        Assert.Equal((WorkspaceStates.Failed, (int?)null), (state, pid));
        Assert.StartsWith("out of memory: the kernel killed QEMU at the workspace's memory limit", reason);
        foreach (var name in new[] { "web", "big" })
        {
            string id = second.Row(name).Id;
            Assert.False(second.Guests.IsAttached(id));
            Assert.False(machine.Resources.Holds(id), $"the resource group of {name}, whose guest is gone, was not released");
        }
        Assert.Empty(second.Logs.Errors);
    }

    [Fact]
    public async Task A_guest_that_dies_as_it_is_reattached_is_recorded_Failed_and_the_others_are_still_reattached()
    {
        using var machine = new TestMachine();
        await using (var first = InProcessDaemon.Start(machine))
        {
            await first.ImportBootSetAsync();
            foreach (var name in new[] { "a", "b" })
            {
                await first.CreateAsync(name);
                await first.ActAsync(name, WorkspaceAction.Start);
            }
        }
        var (a, b) = (machine.Hypervisor.Launched[0], machine.Hypervisor.Launched[1]);
        // a's QEMU dies between the attach and the first question (SQLite lists a first).
        a.Script["query-state"] = _ =>
        {
            a.Crash();
            throw FakeGuestProcess.Gone("query-state");
        };

        await using var second = InProcessDaemon.Start(machine);
        await second.Guests.ReattachAllAsync(None).Within("the re-attach");

        Assert.Equal((WorkspaceStates.Running, "started (tcg)", b.Pid), State(second, "b"));
        Assert.True(second.Guests.IsAttached(second.Row("b").Id));
        await Wait.UntilAsync(() => second.Row("a").State == WorkspaceStates.Failed, Soon.Limit, "a's death being recorded");
        Assert.Equal((WorkspaceStates.Failed, $"QEMU (pid {a.Pid}) exited unexpectedly, without a shutdown", (int?)null), State(second, "a"));
        string aId = second.Row("a").Id;
        await Wait.UntilAsync(() => !machine.Resources.Holds(aId), Soon.Limit, "a's group being released");
        Assert.False(second.Guests.IsAttached(aId));
        Assert.Empty(second.Logs.Errors);
    }

    [Fact]
    public async Task A_QEMU_left_by_a_start_that_never_committed_is_killed_and_its_group_released()
    {
        using var machine = new TestMachine();
        var reachedRun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = InProcessDaemon.Start(machine);
        await first.ImportBootSetAsync();
        var row = await first.CreateAsync("web");
        // The daemon dies in the middle of the start: QEMU launched and under its limits, not yet running, nothing recorded.
        machine.Hypervisor.OnLaunched = guest => guest.Script["run"] = _ =>
        {
            reachedRun.TrySetResult();
            return new TaskCompletionSource().Task; // never returns: the daemon is gone
        };
        _ = first.ActAsync("web", WorkspaceAction.Start);
        await reachedRun.Task.Within("the start reaching run");
        var stray = machine.Hypervisor.Launched.Single();
        Assert.Equal(WorkspaceStates.Defined, first.Row("web").State);
        Assert.Equal(stray.Pid, stray.Spec.ReadPid());

        await using var second = InProcessDaemon.Start(machine);
        await second.Guests.ReattachAllAsync(None);

        Assert.False(stray.Alive, $"the QEMU (pid {stray.Pid}) of the start that never committed still runs");
        Assert.True(stray.Killed);
        Assert.Equal((WorkspaceStates.Defined, "created", (int?)null), State(second, "web"));
        Assert.False(second.Guests.IsAttached(row.Id));
        Assert.False(machine.Resources.Holds(row.Id), "the resource group the unfinished start made was left behind");
        Assert.Contains(second.Logs.Entries, e => e.Id.Id == 2002 && e.Message.Contains($"pid {stray.Pid}"));
        Assert.Empty(second.Logs.Errors);
    }

    private static (string State, string? Reason, int? Pid) State(InProcessDaemon daemon, string name)
    {
        var row = daemon.Row(name);
        return (row.State, row.Reason, row.Pid);
    }
}
