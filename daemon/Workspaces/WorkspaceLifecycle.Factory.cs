using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

// What the Factory does with a workspace's disk: check it in as an image (the workspace then
// continues from that image), or copy the workspace.
// Both need the disk at rest (Defined or Stopped) and hold the workspace's lock while they read it.
public sealed partial class WorkspaceLifecycle
{
    public async Task<ImageRow> CheckinAsync(string name, CheckinRequest request, Caller caller, CancellationToken ct)
    {
        if (!caller.IsAdmin) throw WorkspacesException.Forbidden("checking a workspace in makes an image, and only admins make images");
        var row = Check(name, WorkspaceAction.Checkin, caller);
        using var _ = await LockAsync(row.Id, ct);
        row = Check(name, WorkspaceAction.Checkin, caller);
        var image = images.Get(row.ImageId);
        var made = await factory.CheckinAsync(row, Overlay(row.Id), image, request.As, request.Encrypt, request.Tags ?? [], ct);
        LifecycleLog.CheckedIn(logger, row.Name, made.Name, made.Id);

        // The workspace continues from what it became: a fresh overlay on the new image shows the
        // same disk. The old overlay is in the cache now (or, when it was re-sealed, removed here
        // so no plaintext copy stays behind).
        File.Delete(Overlay(row.Id));
        await CreateOverlayAsync(row.Id, made, ct);
        workspaces.SetImage(row.Id, made.Id);
        return made;
    }

    /// <summary>A new workspace with a copy of the disk and the spec, a new name and a new identity, owned by the caller.</summary>
    public async Task<WorkspaceRow> CopyAsync(string name, string newName, Caller caller, CancellationToken ct)
    {
        Names.CheckWorkspace(newName);
        var source = Check(name, WorkspaceAction.Copy, caller);
        using var _ = await LockAsync(source.Id, ct);
        source = Check(name, WorkspaceAction.Copy, caller);
        if (workspaces.Find(newName) is not null) throw NameTaken(newName);
        var image = images.Get(source.ImageId);
        await images.AdmitAsync(image, ct);
        admission.AdmitDefinition(new WorkspaceShape(source.Vcpus, source.MemoryMib), acceptOffer: false);

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var copy = new WorkspaceRow
        {
            Id = Guid.NewGuid().ToString("N")[..16],
            Name = newName,
            Owner = caller.Uid,
            ImageId = source.ImageId,
            ImageName = source.ImageName,
            Vcpus = source.Vcpus,
            MemoryMib = source.MemoryMib,
            CpuQuotaPercent = source.CpuQuotaPercent,
            CpuWeight = source.CpuWeight,
            TasksMax = source.TasksMax,
            IoWeight = source.IoWeight,
            Cmdline = source.Cmdline,
            State = WorkspaceStates.Defined,
            Reason = $"copied from {source.Name}",
            CreatedAt = now,
            UpdatedAt = now,
        };
        await using var revert = new Reverter();
        Directory.CreateDirectory(Dir(copy.Id));
        revert.Add(() => Directory.Delete(Dir(copy.Id), recursive: true));
        if (image.Disk is not null)
        {
            LinkBacking(copy.Id, image);
            // A sealed overlay copies as it is: same lineage key, still sealed.
            await using var from = new FileStream(Overlay(source.Id), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            await using var to = new FileStream(Overlay(copy.Id), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            await from.CopyToAsync(to, ct);
            to.Flush(flushToDisk: true);
        }
        if (!workspaces.TryInsert(copy)) throw NameTaken(copy.Name);
        revert.Add(() => workspaces.Delete(copy.Id));
        if (network.NicOf(source.Id) is { } nic)
        {
            // Same network and policy, its own MAC and address: a copy is a new identity on the wire too.
            var own = await network.AttachAsync(copy, nic.Network, nic.Egress, nic.RateKbit, caller, ct);
            revert.Add(() => network.ReleaseAsync(copy.Id, CancellationToken.None));
            await network.PublishAsync(own, ct);
        }
        revert.Success();
        Publish(copy);
        return copy;
    }
}
