using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

// Renegotiation: a workspace's limits change in SQLite and, when it runs, live on the host
// (its cgroup or unit, and its memory through the balloon).
public sealed partial class WorkspaceLifecycle
{
    public async Task<WorkspaceRow> SetResourcesAsync(string name, SetResourcesRequest request, Caller caller, CancellationToken ct)
    {
        var row = Get(name, caller);
        using var _ = await LockAsync(row.Id, ct);
        row = Get(name, caller);
        var wanted = new WorkspaceRow
        {
            Id = row.Id, Name = row.Name, Vcpus = row.Vcpus,
            MemoryMib = request.MemoryMiB ?? row.MemoryMib,
            CpuQuotaPercent = request.CpuQuotaPercent ?? row.CpuQuotaPercent,
            CpuWeight = request.CpuWeight ?? row.CpuWeight,
            TasksMax = request.TasksMax ?? row.TasksMax,
            IoWeight = request.IoWeight ?? row.IoWeight,
            UpdatedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        Limits.Check(wanted.Vcpus, wanted.MemoryMib, wanted.CpuQuotaPercent, wanted.CpuWeight, wanted.TasksMax, wanted.IoWeight, admission.MemoryFloorMiB);
        Limits.CheckEnforceable(resources.Mode, resources.Reason, request.CpuQuotaPercent, request.CpuWeight, request.TasksMax, request.IoWeight);
        admission.AdmitDefinition(new WorkspaceShape(wanted.Vcpus, wanted.MemoryMib), acceptOffer: false);

        if (_guests.TryGetValue(row.Id, out var guest))
        {
            if (wanted.MemoryMib > row.MemoryMib)
                admission.CheckStart(row.Id, new WorkspaceShape(wanted.Vcpus, wanted.MemoryMib), acceptOffer: false);
            long boot = await guest.BootMemoryAsync(ct);
            if ((long)wanted.MemoryMib << 20 > boot)
                throw WorkspacesException.Conflict(
                    $"{name} booted with {boot >> 20} MiB and can grow to at most that while it runs; stop it, set the memory, and start it again");
            // Shrink the guest before its limit, grow the limit before the guest.
            if (wanted.MemoryMib < row.MemoryMib) await guest.SetMemoryAsync((long)wanted.MemoryMib << 20, ct);
            await resources.UpdateAsync(row.Name, ResourceLimits.For(wanted), ct);
            if (wanted.MemoryMib > row.MemoryMib) await guest.SetMemoryAsync((long)wanted.MemoryMib << 20, ct);
        }
        workspaces.SetResources(wanted);
        var updated = Get(name, caller);
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "workspace.resources", updated.Name, updated.State,
            $"cpu quota {updated.CpuQuotaPercent?.ToString() ?? "none"}%, memory {updated.MemoryMib} MiB", null), updated.Owner);
        return updated;
    }
}
