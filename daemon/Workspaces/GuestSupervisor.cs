using System.Collections.Concurrent;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The guests this daemon is attached to. Guests outlive the daemon: at start it re-attaches to
/// every guest SQLite says is active, records those that died meanwhile, and removes QEMU processes
/// no committed state claims. While attached, it watches each guest's events and its exit, and
/// records what the guest did on its own.
/// </summary>
public sealed class GuestSupervisor(
    WorkspaceRepository workspaces,
    ImageService images,
    GuestSpecs specs,
    IHypervisor hypervisor,
    IResourceController resources,
    WorkspaceRecorder recorder,
    WorkspaceLocks locks,
    NetworkService network,
    IAuditRecorder audit,
    ILogger<GuestSupervisor> logger)
{
    private readonly ConcurrentDictionary<string, IGuest> _guests = new();

    public int Count => _guests.Count;

    public bool IsAttached(string id) => _guests.ContainsKey(id);

    public bool TryGet(string id, out IGuest guest) => _guests.TryGetValue(id, out guest!);

    /// <summary>The guest of a workspace recorded as running or paused.</summary>
    public IGuest Guest(WorkspaceRow row) =>
        _guests.TryGetValue(row.Id, out var guest)
            ? guest
            : throw new HypervisorException($"workspace '{row.Name}' is recorded as {row.State} but workspacesd has no guest attached");

    /// <summary>How many guests are running and how many paused, from what SQLite records of the attached ones.</summary>
    public (int Running, int Paused) ActiveCounts()
    {
        var active = workspaces.List().Where(w => _guests.ContainsKey(w.Id)).ToList();
        return (active.Count(w => w.State == WorkspaceStates.Running), active.Count(w => w.State == WorkspaceStates.Paused));
    }

    /// <summary>A guest just started (the caller holds the workspace's lock): from now on it is watched.</summary>
    public void Attach(string id, IGuest guest)
    {
        _guests[id] = guest;
        Watch(id, guest);
    }

    /// <summary>Takes the guest out of supervision (a stop or delete under the workspace's lock); its exit is then the caller's.</summary>
    public bool TryDetach(string id, out IGuest guest) => _guests.TryRemove(id, out guest!);

    public async Task ReattachAllAsync(CancellationToken ct)
    {
        foreach (var row in workspaces.List())
        {
            // Neither recorded as running nor left a pid file (QEMU removes its own when it exits): nothing of it can
            // run, so nothing to look at. 10,000 defined workspaces then cost one query here, not 10,000 image reads.
            // A move of unknown outcome: its paused guest may hold the only RAM of it, so it is kept as an active one is.
            bool held = WorkspaceStateMachine.IsActive(row.State) || row.State == WorkspaceStates.MigrationUnknown;
            if (!held && row.Pid is null && !File.Exists(specs.Paths(row.Id).PidFile)) continue;
            using var _ = await locks.TakeAsync(row.Id, ct);
            var spec = specs.For(row, images.Get(row.ImageId), row.Accelerator ?? "tcg");
            int? pid = row.Pid ?? spec.ReadPid();
            if (!held)
            {
                // A QEMU from a start that never committed (the daemon died mid-start): not ours to keep.
                if (pid is { } orphan)
                {
                    bool ended;
                    try
                    {
                        var stray = await hypervisor.AttachAsync(spec, orphan, ct);
                        ended = stray is not null;
                        if (stray is not null)
                        {
                            LifecycleLog.RemovingOrphan(logger, orphan, row.Name);
                            await stray.KillAsync(ct);
                            await stray.DisposeAsync();
                        }
                    }
                    catch (HypervisorException)
                    {
                        ended = true; // its monitor did not answer, and the attach stopped it
                    }
                    // The start's revert never ran: its group (made before QEMU was let run) goes with QEMU.
                    if (ended) await resources.ReleaseAsync(row.Id);
                }
                continue;
            }
            IGuest? guest;
            try
            {
                guest = pid is null ? null : await hypervisor.AttachAsync(spec, pid.Value, ct);
            }
            catch (HypervisorException e)
            {
                // Alive but out of reach, and stopped for it: said as such, not as an exit.
                recorder.SetState(row, WorkspaceStates.Failed, e.Message, null, row.Accelerator);
                Died(row, e.Message, "workspace.lost");
                await resources.ReleaseAsync(row.Id);
                await network.LeaseReturnedAsync(row.Id, ct);
                continue;
            }
            if (guest is null)
            {
                string why = OutOfMemory(row) ?? $"QEMU (pid {pid}) exited while workspacesd was not running";
                recorder.SetState(row, WorkspaceStates.Failed, why, null, row.Accelerator);
                Died(row, why);
                await resources.ReleaseAsync(row.Id);
                await network.LeaseReturnedAsync(row.Id, ct);
                continue;
            }
            string status;
            try
            {
                status = await guest.QueryStateAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // It died as we attached (or cannot answer): watched as recorded, its watcher records how it ended.
                Attach(row.Id, guest);
                continue;
            }
            // Only "running" runs the guest's vCPUs; every other state QEMU reports here (paused, postmigrate after a
            // switch-over the daemon did not see end, suspended, guest-panicked, ...) holds them, and `resume` (cont) ends it.
            string state = status == "running" ? WorkspaceStates.Running : WorkspaceStates.Paused;
            if (state != row.State && row.State != WorkspaceStates.MigrationUnknown) recorder.SetState(row, state, $"re-attached; QEMU reports {status}", guest.Pid, row.Accelerator);
            else LifecycleLog.Reattached(logger, row.Name, guest.Pid, row.State);
            Attach(row.Id, guest);
        }
    }

    /// <summary>Lets go of every guest without stopping any (daemon shutdown).</summary>
    public async Task DetachAllAsync()
    {
        foreach (var id in _guests.Keys)
            if (_guests.TryRemove(id, out var guest)) await guest.DisposeAsync();
    }

    /// <summary>Why a guest died, when it was the kernel's OOM killer at the workspace's memory limit (read before its cgroup goes).</summary>
    public string? OutOfMemory(WorkspaceRow row) => resources.OutOfMemoryKills(row.Id) is > 0
        ? $"out of memory: the kernel killed QEMU at the workspace's memory limit ({ResourceLimits.For(row).MemoryMaxBytes >> 20} MiB for {row.MemoryMib} MiB of guest memory); give it more memory"
        : null;

    /// <summary>A guest that ended without a shutdown (or was given up on, "workspace.lost") is nobody's request: audited, with why.</summary>
    private void Died(WorkspaceRow row, string why, string action = "workspace.died") =>
        audit.Decided(action, "workspaces/" + row.Name, row.Owner, new Dictionary<string, string> { ["id"] = row.Id }, 500, why);

    /// <summary>Follows one guest until it ends, recording what it did on its own.</summary>
    private void Watch(string id, IGuest guest) => _ = Task.Run(async () =>
    {
        try
        {
            await foreach (var e in guest.Events.ReadAllAsync())
            {
                if (e.Kind is GuestEventKind.Paused or GuestEventKind.Resumed)
                    await OnGuestAsync(id, guest, row =>
                    {
                        string state = e.Kind == GuestEventKind.Paused ? WorkspaceStates.Paused : WorkspaceStates.Running;
                        // A move of unknown outcome keeps its guest paused and says so; pausing is part of it, not news.
                        if (row.State != state && row.State != WorkspaceStates.MigrationUnknown) recorder.SetState(row, state, e.Detail, row.Pid, row.Accelerator);
                        return Task.CompletedTask;
                    });
            }
            var exit = await guest.Exited;
            if (exit.Detached) return; // let go of, not ended: whoever let go recorded what happened
            // Under the lock, so a start that follows cannot have its new group released by this exit.
            await OnGuestAsync(id, guest, async row =>
            {
                _guests.TryRemove(id, out _);
                string why = exit.Clean ? exit.Reason : OutOfMemory(row) ?? exit.Reason;
                recorder.SetState(row, exit.Clean ? WorkspaceStates.Stopped : WorkspaceStates.Failed, why, null, row.Accelerator);
                if (!exit.Clean) Died(row, why);
                await resources.ReleaseAsync(id);
            });
            await guest.DisposeAsync();
            // The state change gave its address back in SQLite; DHCP and the policy follow (outside the lock: they
            // read SQLite as it is then, so a start that came first is not undone).
            await network.LeaseReturnedAsync(id, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LifecycleLog.WatchFailed(logger, e, id);
        }
    });

    /// <summary>Applies an observation only if this guest is still the workspace's current one (an action may have replaced it).</summary>
    private async Task OnGuestAsync(string id, IGuest guest, Func<WorkspaceRow, Task> apply)
    {
        using var _ = await locks.TakeAsync(id, CancellationToken.None);
        if (!_guests.TryGetValue(id, out var current) || !ReferenceEquals(current, guest)) return;
        if (workspaces.FindById(id) is { } row) await apply(row);
    }
}
