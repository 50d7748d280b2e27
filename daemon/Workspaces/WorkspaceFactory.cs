using Workspaces.Daemon.Core;
using Microsoft.Data.Sqlite;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// What the Factory does with a workspace's disk: check it in as an image (the workspace then
/// continues from that image), or copy the workspace. Both need the disk at rest (Defined or
/// Stopped) and hold the workspace's lock while they read it. The image side (hashing, manifests,
/// signatures, sealing) is ImageFactory's.
/// </summary>
public sealed class WorkspaceFactory(
    WorkspaceAccess access,
    WorkspaceLocks locks,
    WorkspaceRepository workspaces,
    CheckinRepository checkins,
    WorkspaceRecorder recorder,
    WorkspaceDisks disks,
    WorkspaceDataDisks dataDisks,
    WorkspaceLayout layout,
    ImageService images,
    ImageFactory factory,
    NetworkService network,
    Admission admission,
    WorkspaceGuests guestSeeds,
    ILogger<WorkspaceFactory> logger)
{
    /// <summary>
    /// A recorded multi-step transaction, so a crash at any moment loses no disk and leaves no image
    /// removable while an overlay needs it: the intent is recorded; the disk gets its address in the
    /// cache (the overlay keeps its own name too); one SQLite transaction registers the image and moves
    /// the workspace onto it; a fresh overlay on the new image replaces the old name by rename(2).
    /// Before the registration a crash rolls back, after it forward (RecoverCheckinsAsync).
    /// </summary>
    public async Task<ImageRow> CheckinAsync(string name, CheckinRequest request, Caller caller, CancellationToken ct)
    {
        if (!caller.IsAdmin) throw WorkspacesException.Forbidden("checking a workspace in makes an image, and only admins make images");
        var row = access.Check(name, WorkspaceAction.Checkin, caller);
        using var _ = await locks.TakeAsync(row.Id, ct);
        row = access.Check(name, WorkspaceAction.Checkin, caller);
        await FinishCheckinAsync(row.Id);
        row = access.Check(name, WorkspaceAction.Checkin, caller);
        // The workspace keeps its data disks across a checkin (they are its own, not the image's); a checkin
        // that seals the lineage would leave them in clear beside a sealed system disk: refused instead.
        if (request.Encrypt && !images.DiskChain(images.Get(row.ImageId)).Sealed && dataDisks.AnyInClear(row.Id))
            throw WorkspacesException.Conflict(
                $"workspace '{row.Name}' has data disks in clear, and a sealed workspace's disks are all sealed; remove them (ws disk rm) or check in without --encrypt");
        var plan = await factory.PrepareCheckinAsync(row, layout.Overlay(row.Id), images.Get(row.ImageId), request.As, request.Encrypt, request.Tags ?? [], ct);
        var intent = new CheckinRow
        {
            WorkspaceId = row.Id, ImageId = plan.Image.Id, Disk = plan.Disk.Sha256, Adopted = plan.Adopted,
            StartedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        try
        {
            checkins.Record(intent);
        }
        catch
        {
            if (!plan.Adopted) File.Delete(plan.Disk.Path);
            throw;
        }
        CrashPoints.Reach("checkin.recorded");
        try
        {
            if (!images.PlaceCheckinDisk(plan.Disk, plan.Adopted) && !plan.Adopted) File.Delete(plan.Disk.Path);
            CrashPoints.Reach("checkin.placed");
            checkins.Register(intent, plan.Image, plan.Signatures, plan.SealedKeys);
        }
        catch (Exception e)
        {
            RollBack(intent);
            if (e is SqliteException { SqliteErrorCode: 19 })
                throw WorkspacesException.Conflict($"an image named '{plan.Image.Name}' (or with the same content) was registered at the same time");
            throw;
        }
        CrashPoints.Reach("checkin.registered");
        // Past the registration there is no going back, so no cancelling either (a short qemu-img create).
        await RollForwardAsync(intent, CancellationToken.None);
        LifecycleLog.CheckedIn(logger, row.Name, plan.Image.Name, plan.Image.Id);
        return plan.Image;
    }

    /// <summary>At start, before any guest: every checkin a crash interrupted is finished one way or the other.</summary>
    public async Task RecoverCheckinsAsync(CancellationToken ct)
    {
        foreach (var intent in checkins.Unfinished()) await FinishAsync(intent, ct);
    }

    /// <summary>A checkin of this workspace that did not finish (its last step failed): finished now. The caller holds the workspace's lock.</summary>
    public async Task FinishCheckinAsync(string workspaceId)
    {
        if (checkins.Find(workspaceId) is { } intent) await FinishAsync(intent, CancellationToken.None);
    }

    private async Task FinishAsync(CheckinRow intent, CancellationToken ct)
    {
        bool forward = intent.Step == CheckinRow.Registered;
        LifecycleLog.RecoveringCheckin(logger, intent.WorkspaceId, intent.ImageId, intent.Step, forward ? "forward" : "back");
        if (forward) await RollForwardAsync(intent, ct);
        else RollBack(intent);
    }

    /// <summary>Before registration: the image never was; the overlay, untouched but for its mode, is the disk again.</summary>
    private void RollBack(CheckinRow intent)
    {
        images.DropUnregisteredBlob(intent.Disk);
        string overlay = layout.Overlay(intent.WorkspaceId);
        if (intent.Adopted && File.Exists(overlay)) File.SetUnixFileMode(overlay, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        checkins.Finish(intent.WorkspaceId);
    }

    /// <summary>
    /// After registration: the workspace continues from what it became. A fresh overlay on the new
    /// image (the same disk content) is made beside the old one and renamed over it; the old name was
    /// the blob's second name (or, when the lineage was sealed just now, a plaintext overlay, so no
    /// plaintext stays behind). Safe to repeat: a repeat only replaces one fresh overlay by another.
    /// </summary>
    private async Task RollForwardAsync(CheckinRow intent, CancellationToken ct)
    {
        string id = intent.WorkspaceId, overlay = layout.Overlay(id), next = overlay + ".next";
        File.Delete(next);
        await disks.CreateOverlayAsync(id, images.Get(intent.ImageId), next, ct);
        CrashPoints.Reach("checkin.overlay-made");
        File.Move(next, overlay, overwrite: true);
        CrashPoints.Reach("checkin.swapped");
        images.RecordIntact(intent.Disk); // its link count changed with the rename, so its ctime too
        checkins.Finish(id);
    }

    /// <summary>A new workspace with a copy of the disk and the spec, a new name and a new identity, owned by the caller (or the owner an admin chose).</summary>
    public async Task<WorkspaceRow> CopyAsync(string name, string newName, Caller caller, CancellationToken ct)
    {
        Names.CheckWorkspace(newName);
        var source = access.Check(name, WorkspaceAction.Copy, caller);
        using var _ = await locks.TakeAsync(source.Id, ct);
        source = access.Check(name, WorkspaceAction.Copy, caller);
        await FinishCheckinAsync(source.Id); // copy the workspace's own disk, not an image's blob
        if (workspaces.Find(caller.Namespace, newName) is not null) throw WorkspaceAccess.NameTaken(newName, caller.Namespace);
        var image = images.Get(source.ImageId);
        await images.AdmitAsync(image, ct);
        admission.AdmitDefinition(new WorkspaceShape(source.Vcpus, source.MemoryMib), acceptOffer: false);

        var copy = WorkspaceDefinitions.NewRow(newName, caller.Namespace, image, $"copied from {source.Name}");
        (copy.Vcpus, copy.MemoryMib, copy.Cmdline, copy.CpuModel) = (source.Vcpus, source.MemoryMib, source.Cmdline, source.CpuModel);
        (copy.CpuQuotaPercent, copy.CpuWeight, copy.TasksMax, copy.IoWeight) = (source.CpuQuotaPercent, source.CpuWeight, source.TasksMax, source.IoWeight);
        await using var revert = new Reverter(logger);
        Directory.CreateDirectory(layout.Dir(copy.Id));
        revert.Add(() => Directory.Delete(layout.Dir(copy.Id), recursive: true));
        if (image.Disk is not null)
        {
            disks.LinkBacking(copy.Id, image);
            // A sealed overlay copies as it is: same lineage key, still sealed.
            await using var from = new FileStream(layout.Overlay(source.Id), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            await using var to = new FileStream(layout.Overlay(copy.Id), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            await from.CopyToAsync(to, ct);
            to.Flush(flushToDisk: true);
        }
        var copiedDisks = await dataDisks.CopyFilesAsync(source.Id, copy.Id, ct);
        if (!workspaces.TryInsert(copy)) throw WorkspaceAccess.NameTaken(copy.Name, copy.Owner); // the source holds the image: it cannot go meanwhile
        revert.Add(() => workspaces.Delete(copy.Id)); // its data disks' rows go with it (ON DELETE CASCADE)
        dataDisks.RecordCopies(copy.Id, copiedDisks);
        // Its own identity and instance-id (its id), the source's user-data, keys and secrets: cloud-init sees a new instance.
        guestSeeds.RecordCopy(source, copy, image);
        // Same network and policy, its own MAC (and an address of its own when it runs): a copy is a new identity on the wire too.
        if (network.NicOf(source.Id) is { } nic)
        {
            await network.AttachAsync(copy, nic.Network, nic.Egress, nic.RateKbit, caller, ct);
            revert.Add(() => network.ReleaseAsync(copy.Id, CancellationToken.None));
        }
        revert.Success();
        recorder.Publish(copy);
        return copy;
    }
}
