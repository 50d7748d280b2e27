using Workspaces.Daemon.Core;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// A workspace's definition: create (a row, a directory, an overlay, a NIC), renegotiate its
/// resources (live when it runs), delete. Creates touch the host first and record the row last, so
/// one that loses the race for a name removes what it made.
/// </summary>
public sealed class WorkspaceDefinitions(
    WorkspaceAccess access,
    WorkspaceLocks locks,
    WorkspaceRepository workspaces,
    WorkspaceRecorder recorder,
    WorkspaceDisks disks,
    WorkspaceLayout layout,
    GuestSupervisor guests,
    ImageService images,
    NetworkService network,
    Admission admission,
    IResourceController resources,
    Hypervisor.Qemu.GuestAgents agents,
    WorkspaceGuests guestSeeds,
    Hypervisor.CpuCatalog cpus,
    IOptions<WorkspacesOptions> options,
    ILogger<WorkspaceDefinitions> logger)
{
    public async Task<WorkspaceRow> CreateAsync(CreateWorkspaceRequest request, Caller caller, CancellationToken ct)
    {
        Names.CheckWorkspace(request.Name ?? "");
        if (string.IsNullOrEmpty(request.Image)) throw WorkspacesException.BadRequest("a workspace needs an image");
        var image = images.Get(request.Image);
        await images.AdmitAsync(image, ct);
        int vcpus = request.Vcpus ?? image.StateVcpus ?? options.Value.DefaultVcpus;
        int memory = request.MemoryMiB ?? image.StateMemoryMib ?? options.Value.DefaultMemoryMiB;
        // A template's RAM fits only a guest of the shape it was saved from.
        if (image.State is not null && (vcpus != image.StateVcpus || memory != image.StateMemoryMib))
            throw WorkspacesException.BadRequest(
                $"template '{image.Name}' holds the RAM of a guest with {image.StateVcpus} vCPUs and {image.StateMemoryMib} MiB; its workspaces have that shape (leave --vcpus and --memory out)");
        Limits.Check(vcpus, memory, request.CpuQuotaPercent, request.CpuWeight, request.TasksMax, request.IoWeight, admission.MemoryFloorMiB);
        KernelCmdline.Check(request.Cmdline);
        Limits.CheckEnforceable(resources.Mode, resources.Reason, request.CpuQuotaPercent, request.CpuWeight, request.TasksMax, request.IoWeight);
        var shape = admission.AdmitDefinition(new WorkspaceShape(vcpus, memory), request.AcceptOffer);
        if (request.Cmdline is not null && image.Kernel is null)
            throw WorkspacesException.BadRequest($"image '{image.Name}' has no kernel, so a kernel command line cannot apply");
        if (request.Network is null && (request.Egress is not null || request.RateKbit is not null))
            throw WorkspacesException.BadRequest("an egress allowlist or a rate limit needs a network (--network)");
        if (workspaces.Find(caller.Namespace, request.Name!) is not null) throw WorkspaceAccess.NameTaken(request.Name!, caller.Namespace);
        var guestRequest = WorkspaceGuests.Check(request);
        string cpuModel = request.CpuModel ?? options.Value.CpuModel;
        if (cpus.CreateRefusal(cpuModel) is { } cpuRefusal) throw WorkspacesException.BadRequest(cpuRefusal);

        var row = NewRow(request.Name!, caller.Namespace, image, "created");
        (row.Vcpus, row.MemoryMib, row.Cmdline) = (shape.Vcpus, shape.MemoryMiB, request.Cmdline);
        (row.CpuQuotaPercent, row.CpuWeight, row.TasksMax, row.IoWeight) = (request.CpuQuotaPercent, request.CpuWeight, request.TasksMax, request.IoWeight);
        row.CpuModel = cpuModel;

        await using var revert = new Reverter(logger);
        Directory.CreateDirectory(layout.Dir(row.Id));
        revert.Add(() => Directory.Delete(layout.Dir(row.Id), recursive: true));
        await disks.WhileImageExistsAsync(image, async () =>
        {
            if (image.Disk is not null) await disks.CreateOverlayAsync(row.Id, image, layout.Overlay(row.Id), ct);
            if (!workspaces.TryInsert(row)) throw WorkspaceAccess.NameTaken(row.Name, row.Owner); // from here on the image cannot be removed
        });
        revert.Add(() => workspaces.Delete(row.Id));
        guestSeeds.Record(row, image, guestRequest); // removed with the row (ON DELETE CASCADE)
        if (request.Network is { } networkName) await AttachNicAsync(row, networkName, request.Egress, request.RateKbit, caller, revert, ct);
        revert.Success();
        recorder.Publish(row);
        return row;
    }

    /// <summary>A new row with a new identity (id, guest uid on insert), Defined, on this image.</summary>
    public static WorkspaceRow NewRow(string name, uint owner, ImageRow image, string reason)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return new WorkspaceRow
        {
            Id = Guid.NewGuid().ToString("N")[..16],
            Name = name,
            Owner = owner,
            ImageId = image.Id,
            ImageName = image.Name,
            State = WorkspaceStates.Defined,
            Reason = reason,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>A NIC on the network (its MAC; the address comes at start); undone with the create that asked for it.</summary>
    public async Task AttachNicAsync(WorkspaceRow row, string networkName, string? egress, int? rateKbit, Caller caller, Reverter revert, CancellationToken ct)
    {
        await network.AttachAsync(row, networkName, egress, rateKbit, caller, ct);
        revert.Add(() => network.ReleaseAsync(row.Id, CancellationToken.None));
    }

    /// <summary>Renegotiation: the limits change in SQLite and, when it runs, live on the host (its group or unit, its memory through the balloon).</summary>
    public async Task<WorkspaceRow> SetResourcesAsync(string name, SetResourcesRequest request, Caller caller, CancellationToken ct)
    {
        var row = access.Get(name, caller);
        using var _ = await locks.TakeAsync(row.Id, ct);
        row = access.Get(name, caller);
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

        IDisposable? lease = null;
        try
        {
            if (guests.TryGet(row.Id, out var guest))
            {
                // Growing a running guest takes capacity like a start does: through the admission gate, held until recorded.
                if (wanted.MemoryMib > row.MemoryMib)
                    lease = (await admission.AdmitStartAsync(row.Id, new WorkspaceShape(wanted.Vcpus, wanted.MemoryMib), acceptOffer: false, ct)).Lease;
                long boot = await guest.BootMemoryAsync(ct);
                if ((long)wanted.MemoryMib << 20 > boot)
                    throw WorkspacesException.Conflict(
                        $"{name} booted with {boot >> 20} MiB and can grow to at most that while it runs; stop it, set the memory, and start it again");
                // Shrink the guest before its limit, grow the limit before the guest.
                if (wanted.MemoryMib < row.MemoryMib) await guest.SetMemoryAsync((long)wanted.MemoryMib << 20, ct);
                await resources.UpdateAsync(row.Id, ResourceLimits.For(wanted), ct);
                if (wanted.MemoryMib > row.MemoryMib) await guest.SetMemoryAsync((long)wanted.MemoryMib << 20, ct);
            }
            workspaces.SetResources(wanted);
        }
        finally
        {
            lease?.Dispose();
        }
        var updated = access.Get(name, caller);
        recorder.Publish(updated, "workspace.resources", updated.State,
            $"cpu quota {updated.CpuQuotaPercent?.ToString() ?? "none"}%, memory {updated.MemoryMib} MiB");
        return updated;
    }

    public async Task DeleteAsync(string name, Caller caller, bool force, CancellationToken ct)
    {
        var row = access.Check(name, WorkspaceAction.Delete, caller, force);
        using var _ = await locks.TakeAsync(row.Id, ct);
        row = access.Check(name, WorkspaceAction.Delete, caller, force);
        if (guests.TryDetach(row.Id, out var guest))
        {
            await guest.KillAsync(ct);
            await guest.DisposeAsync();
        }
        await agents.ForgetAsync(layout.AgentSocket(row.Id));
        // Also when no guest is attached: a start killed with the daemon may have left its cgroups.
        await resources.ReleaseAsync(row.Id);
        await network.ReleaseAsync(row.Id, ct); // its address back to the pool, its rules gone
        workspaces.Delete(row.Id);
        // Files last: a crash before this leaves a directory no row claims, which the next start removes.
        if (Directory.Exists(layout.Dir(row.Id))) Directory.Delete(layout.Dir(row.Id), recursive: true);
        recorder.Publish(row, "workspace.deleted", null, "deleted");
    }

    /// <summary>
    /// A create or copy makes its directory before its row, and a delete removes its row before its
    /// directory: a crash in between leaves a directory no workspace claims. At start, before the API
    /// opens, nothing else can be making one, so every such directory is a leftover.
    /// </summary>
    public void RemoveUnclaimedDirectories()
    {
        var claimed = workspaces.Ids();
        foreach (var id in layout.Ids().Where(id => !claimed.Contains(id)))
        {
            LifecycleLog.RemovingLeftover(logger, layout.Dir(id));
            Directory.Delete(layout.Dir(id), recursive: true);
        }
    }
}
