using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// ws snapshot NAME --as TEMPLATE: a running workspace becomes a template. Under its lock the guest is
/// paused and its RAM and device state saved (QEMU flushes and lets go of its disk when the save completes),
/// so the overlay copied next is consistent with that RAM; then the guest runs on, as before (its disk is
/// taken back by cont). The copy (a delta on the workspace's image) and the RAM are blobs of one new image,
/// signed by this host, which ImageFactory registers.
/// </summary>
public sealed class WorkspaceSnapshots(
    WorkspaceAccess access,
    WorkspaceLocks locks,
    GuestSupervisor guests,
    SavedStates saved,
    WorkspaceLayout layout,
    ImageService images,
    ImageStore store,
    ImageFactory factory,
    ILogger<WorkspaceSnapshots> logger)
{
    public static WorkspacesException AdminsOnly() => WorkspacesException.Forbidden("a snapshot makes an image, and only admins make images");

    public async Task<ImageRow> SnapshotAsync(string name, SnapshotRequest request, Caller caller, CancellationToken ct)
    {
        if (!caller.IsAdmin) throw AdminsOnly();
        var row = access.Check(name, WorkspaceAction.Snapshot, caller);
        using var _ = await locks.TakeAsync(row.Id, ct);
        row = access.Check(name, WorkspaceAction.Snapshot, caller);
        var image = images.Get(row.ImageId);
        if (image.Disk is null)
            throw WorkspacesException.Conflict($"workspace '{row.Name}' has no disk (its image '{image.Name}' boots a kernel only), so it cannot be a template");
        // Its RAM would hold what the sealed disk protects, in a blob that is not sealed.
        if (image.Encrypted || images.DiskChain(image).Sealed)
            throw WorkspacesException.Conflict($"workspace '{row.Name}' has a sealed disk; templates of sealed workspaces are not supported (their RAM would travel unsealed)");
        images.CheckNew(new ImageRow { Name = request.As, Id = "" }); // a taken name is refused before the guest is paused

        var guest = guests.Guest(row);
        bool wasRunning = row.State == WorkspaceStates.Running;
        string ram = Path.Combine(layout.Dir(row.Id), "template.zst");
        string diskCopy = store.NewStagingPath(), ramStaged = store.NewStagingPath();
        SavedStateRow state;
        await using (var revert = new Reverter(logger))
        {
            revert.Add(() => { File.Delete(ram); File.Delete(diskCopy); File.Delete(ramStaged); });
            if (wasRunning) await guest.PauseAsync(ct);
            try
            {
                state = await saved.SaveAsync(row, guest, ram, null, ct);
                await CopyAsync(layout.Overlay(row.Id), diskCopy, ct);
            }
            finally
            {
                if (wasRunning) await guest.RunAsync(CancellationToken.None); // it runs on, whatever became of the template
            }
            File.Move(ram, ramStaged);
            revert.Success();
        }
        var disk = await store.HashStagedAsync(diskCopy, ct);
        var ramBlob = await store.HashStagedAsync(ramStaged, ct);
        if (ramBlob.Sha256 != state.Sha256)
        {
            File.Delete(disk.Path);
            File.Delete(ramBlob.Path);
            throw WorkspacesException.Conflict($"the RAM state of '{row.Name}' changed between its save and its registration; nothing was made");
        }
        var template = factory.RegisterTemplate(row, image, disk, ramBlob, SavedStates.Format, state.MemoryMib, state.Vcpus, request.As, request.Tags ?? []);
        LifecycleLog.Snapshot(logger, row.Name, template.Name, template.Id, ramBlob.Size);
        return template;
    }

    private static async Task CopyAsync(string from, string to, CancellationToken ct)
    {
        await using var source = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan);
        await using var target = new FileStream(to, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        await source.CopyToAsync(target, ct);
        target.Flush(flushToDisk: true);
    }
}
