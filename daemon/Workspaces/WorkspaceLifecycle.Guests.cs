using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

// Guests outlive the daemon. At start the daemon re-attaches to every guest SQLite says is active,
// records those that died meanwhile, and removes QEMU processes that no committed state claims.
// While attached, it watches each guest's events and its exit.
public sealed partial class WorkspaceLifecycle
{
    public async Task ReconcileAsync(CancellationToken ct)
    {
        await RecoverCheckinsAsync(ct); // a disk mid-checkin is made whole before anything looks at it
        RemoveUnclaimedDirectories();
        await network.ReconcileAsync(ct); // bridges, DHCP and the policy first: re-attached guests use them
        foreach (var row in workspaces.List())
        {
            using var _ = await LockAsync(row.Id, ct);
            var spec = SpecFor(row, images.Get(row.ImageId), row.Accelerator ?? "tcg");
            int? pid = row.Pid ?? spec.ReadPid();
            if (!WorkspaceStateMachine.IsActive(row.State))
            {
                // A QEMU from a start that never committed (the daemon died mid-start): not ours to keep.
                if (pid is { } orphan && await hypervisor.AttachAsync(spec, orphan, ct) is { } stray)
                {
                    LifecycleLog.RemovingOrphan(logger, orphan, row.Name);
                    await stray.KillAsync(ct);
                    await stray.DisposeAsync();
                }
                continue;
            }
            var guest = pid is null ? null : await hypervisor.AttachAsync(spec, pid.Value, ct);
            if (guest is null)
            {
                SetState(row, WorkspaceStates.Failed, OutOfMemory(row) ?? $"QEMU (pid {pid}) exited while workspacesd was not running", null, row.Accelerator);
                await resources.ReleaseAsync(row.Name);
                continue;
            }
            string status = await guest.QueryStateAsync(ct);
            _guests[row.Id] = guest;
            string state = status == "paused" ? WorkspaceStates.Paused : WorkspaceStates.Running;
            if (state != row.State) SetState(row, state, $"re-attached; QEMU reports {status}", guest.Pid, row.Accelerator);
            else LifecycleLog.Reattached(logger, row.Name, guest.Pid, row.State);
            Watch(row.Id, guest);
        }
    }

    /// <summary>
    /// A create or copy makes its directory before its row, and a delete removes its row before its
    /// directory: a crash in between leaves a directory no workspace claims. At start, before the API
    /// opens, nothing else can be making one, so every such directory is a leftover.
    /// </summary>
    private void RemoveUnclaimedDirectories()
    {
        var claimed = workspaces.List().Select(w => w.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories(_root).Where(d => !claimed.Contains(Path.GetFileName(d))))
        {
            LifecycleLog.RemovingLeftover(logger, dir);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Lets go of every guest without stopping any (daemon shutdown).</summary>
    public async Task DetachAllAsync()
    {
        foreach (var id in _guests.Keys)
            if (_guests.TryRemove(id, out var guest)) await guest.DisposeAsync();
    }

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
                        if (row.State != state) SetState(row, state, e.Detail, row.Pid, row.Accelerator);
                    });
            }
            var exit = await guest.Exited;
            await OnGuestAsync(id, guest, row =>
            {
                _guests.TryRemove(id, out _);
                SetState(row, exit.Clean ? WorkspaceStates.Stopped : WorkspaceStates.Failed,
                    exit.Clean ? exit.Reason : OutOfMemory(row) ?? exit.Reason, null, row.Accelerator);
            });
            await guest.DisposeAsync();
            if (!_guests.ContainsKey(id) && workspaces.FindById(id) is { } gone) await resources.ReleaseAsync(gone.Name);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LifecycleLog.WatchFailed(logger, e, id);
        }
    });

    /// <summary>Why a guest died, when it was the kernel's OOM killer at the workspace's memory limit (read before its cgroup goes).</summary>
    private string? OutOfMemory(WorkspaceRow row) => resources.OutOfMemoryKills(row.Name) is > 0
        ? $"out of memory: the kernel killed QEMU at the workspace's memory limit ({ResourceLimits.For(row).MemoryMaxBytes >> 20} MiB for {row.MemoryMib} MiB of guest memory); give it more memory"
        : null;

    /// <summary>Applies an observation only if this guest is still the workspace's current one (an action may have replaced it).</summary>
    private async Task OnGuestAsync(string id, IGuest guest, Action<WorkspaceRow> apply)
    {
        using var _ = await LockAsync(id, CancellationToken.None);
        if (!_guests.TryGetValue(id, out var current) || !ReferenceEquals(current, guest)) return;
        var row = workspaces.FindById(id);
        if (row is not null) apply(row);
    }
}
