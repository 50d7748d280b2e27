using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Workspaces;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Lifecycle;

/// <summary>
/// Starts are admitted one at a time, and the admission gate is held until the start is recorded:
/// a start still launching counts against the capacity the next one is judged by.
/// </summary>
public sealed class AdmissionRaceTests
{
    [Fact]
    public async Task Two_starts_racing_for_the_last_capacity_admit_one_and_counter_offer_the_other()
    {
        using var machine = new TestMachine();
        // Room for 4 vCPUs and 1024 MiB: one workspace of 2 vCPUs and 768 MiB fits, two do not.
        await using var daemon = InProcessDaemon.Start(machine, o => (o.Policy.CapacityCpus, o.Policy.CapacityMemoryMiB) = (4, 1024));
        await daemon.ImportBootSetAsync();
        var a = await daemon.CreateAsync("a", vcpus: 2, memoryMiB: 768);
        var b = await daemon.CreateAsync("b", vcpus: 2, memoryMiB: 768);
        var launching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var launchedWhileHeld = new List<string>();
        machine.Hypervisor.OnLaunch = async (spec, ct) =>
        {
            if (spec.HostName != a.Id)
            {
                if (!proceed.Task.IsCompleted) launchedWhileHeld.Add(spec.Name);
                return;
            }
            launching.TrySetResult();
            await proceed.Task.WaitAsync(ct);
        };

        // a is admitted and held in its launch. b's start then runs, on this thread until its first
        // wait, into the admission gate: held until a's start is recorded, it makes b wait and be
        // judged with a counted. Were it let go earlier, b would be admitted now, with a not yet
        // counted, and launched while a is held (launchedWhileHeld), or later (the counts below).
        var startA = daemon.ActAsync("a", WorkspaceAction.Start);
        await launching.Task.Within("a's launch");
        var startB = daemon.ActAsync("b", WorkspaceAction.Start);
        Assert.True(launchedWhileHeld.Count == 0, "b was launched while a's admitted start was still launching");
        proceed.SetResult();

        await startA.Within("a's start");
        var refused = await Assert.ThrowsAsync<WorkspacesException>(() => startB.Within("b's start"));
        Assert.Equal(409, refused.Status);
        Assert.Equal(new WorkspaceShape(2, 256), refused.Offer);
        Assert.Contains("offered 2 vCPUs and 256 MiB", refused.Message);

        Assert.Equal(WorkspaceStates.Running, daemon.Row("a").State);
        var rowB = daemon.Row("b");
        Assert.Equal((WorkspaceStates.Defined, 2, 768), (rowB.State, rowB.Vcpus, rowB.MemoryMib)); // an offer not taken changes nothing
        Assert.Single(machine.Hypervisor.Launched);
        Assert.False(machine.Resources.Holds(b.Id));
        Assert.Equal(new WorkspaceShape(2, 768), daemon.Get<Admission>().Committed());
    }
}
