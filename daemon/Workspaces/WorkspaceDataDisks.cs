using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// A workspace's data disks (the paper's "mounting partitions, on-site assembly"): qcow2 files in its
/// directory, blank or an overlay of an image's disk, recorded in SQLite, plugged into a running guest
/// at once and into a stopped one at its next start. Each has a slot, which is its hot-plug port.
/// A sealed workspace's data disks are sealed with its lineage key, so nothing it writes lands in clear;
/// an image disk from a sealed lineage may only go to a workspace of that same lineage (one key per guest).
/// </summary>
public sealed class WorkspaceDataDisks(
    WorkspaceAccess access,
    WorkspaceLocks locks,
    DataDiskRepository dataDisks,
    WorkspaceRecorder recorder,
    WorkspaceDisks disks,
    WorkspaceLayout layout,
    GuestSupervisor guests,
    ImageService images,
    QemuImg qemuImg,
    IOptionsMonitor<WorkspacesOptions> options,
    ILogger<WorkspaceDataDisks> logger)
{
    /// <summary>How long a guest has to release a disk asked back. Linux's pciehp alone waits 5 s after the button press.</summary>
    public static readonly TimeSpan UnplugTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The least size of a blank disk: smaller is a typo, not a disk.</summary>
    private const long MinSize = 1 << 20;

    /// <summary>A data disk as shown: its record, the name of the image it is on (if any), and whether it is plugged in now.</summary>
    public sealed record Listed(DataDiskRow Disk, string? ImageName, bool Attached);

    public async Task<IReadOnlyList<Listed>> ListAsync(string name, Caller caller, CancellationToken ct)
    {
        var row = access.Get(name, caller);
        var rows = dataDisks.Of(row.Id);
        // Reads do not fail: a guest whose monitor does not answer shows its disks as not attached.
        IReadOnlySet<string> attached = new HashSet<string>();
        if (rows.Count > 0 && guests.TryGet(row.Id, out var guest))
        {
            try { attached = await guest.AttachedDisksAsync(ct); }
            catch (Exception e) when (e is not OperationCanceledException) { LifecycleLog.DiskQueryFailed(logger, row.Name, e.Message); }
        }
        return rows.Select(d => new Listed(d, ImageName(d), attached.Contains(d.Name))).ToList();
    }

    public async Task<Listed> AddAsync(string name, string disk, string? size, string? imageName, Caller caller, CancellationToken ct)
    {
        Names.CheckDisk(disk);
        if ((size is null) == (imageName is null))
            throw WorkspacesException.BadRequest("a data disk is either blank with a size (--size 10G) or an overlay of an image (--image IMG): give one of them");
        long bytes = size is null ? 0 : CheckSize(size);
        var image = imageName is null ? null : images.Get(imageName);
        if (image is not null)
        {
            if (image.Disk is null) throw WorkspacesException.BadRequest($"image '{image.Name}' has no disk to put a data disk on");
            await images.AdmitAsync(image, ct); // the same signature policy as a workspace made from it
            bytes = image.DiskVirtualSize ?? 0;
        }

        var row = access.Get(name, caller);
        using var _ = await locks.TakeAsync(row.Id, ct);
        row = access.Get(name, caller);
        if (row.State == WorkspaceStates.Paused)
            throw WorkspacesException.Conflict($"workspace '{row.Name}' is paused, and a paused guest cannot take a hot-plugged disk; resume it, or stop it, first");
        var existing = dataDisks.Of(row.Id);
        if (existing.Any(d => d.Name == disk)) throw WorkspacesException.Conflict($"workspace '{row.Name}' already has a data disk named '{disk}'");
        int slot = Enumerable.Range(0, GuestDataDisk.Slots).Except(existing.Select(d => d.Position)).DefaultIfEmpty(-1).First();
        if (slot < 0) throw WorkspacesException.Conflict($"workspace '{row.Name}' has {GuestDataDisk.Slots} data disks, as many as it has hot-plug ports; remove one first");
        string? passphrase = PassphraseFor(row, image);

        var d = new DataDiskRow
        {
            WorkspaceId = row.Id, Name = disk, Kind = image is null ? DataDiskRow.Blank : DataDiskRow.FromImage, Size = bytes,
            ImageId = image?.Id, Serial = disk, Position = slot, Sealed = passphrase is not null,
            CreatedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        string path = layout.DataDisk(row.Id, disk), staging = layout.DataDiskStaging(row.Id, disk);
        await using var revert = new Reverter(logger);
        File.Delete(staging); // a crash's leftover
        revert.Add(() => File.Delete(staging));
        if (image is null) await qemuImg.CreateBlankAsync(staging, bytes, passphrase, ct);
        else await disks.WhileImageExistsAsync(image, () => disks.CreateDataOverlayAsync(row.Id, image, staging, passphrase, ct));
        GuestFiles.GiveFile(row.GuestUid, staging);
        File.Move(staging, path, overwrite: true); // a file under this name no row claims is a removal a crash cut short
        revert.Add(() => File.Delete(path));
        if (!dataDisks.TryInsert(d)) throw WorkspacesException.Conflict($"workspace '{row.Name}' already has a data disk named '{disk}' or in slot {slot}");
        revert.Add(() => dataDisks.Delete(row.Id, disk));
        bool attached = false;
        if (guests.TryGet(row.Id, out var guest))
        {
            await guest.AttachDiskAsync(ForGuest(row.Id, d), ct);
            attached = true;
        }
        revert.Success();
        LifecycleLog.DiskAdded(logger, disk, d.Kind, bytes, row.Name, attached ? ", hot-plugged" : "; attached at its next start");
        recorder.Publish(row, "workspace.disk-added", row.State, $"data disk {disk} ({ByteSize.Format(bytes)}{(image is null ? "" : $" on {image.Name}")})");
        return new Listed(d, image?.Name, attached);
    }

    /// <summary>
    /// From a running guest: unplugged first (the guest must let go), then the record, then the file.
    /// A guest that does not let go keeps the disk, and the record and the file stay (409).
    /// </summary>
    public async Task RemoveAsync(string name, string disk, Caller caller, CancellationToken ct)
    {
        var row = access.Get(name, caller);
        using var _ = await locks.TakeAsync(row.Id, ct);
        row = access.Get(name, caller);
        var d = dataDisks.Of(row.Id).FirstOrDefault(x => x.Name == disk)
                ?? throw WorkspacesException.NotFound($"workspace '{row.Name}' has no data disk named {Names.Quote(disk)}");
        if (row.State == WorkspaceStates.Paused)
            throw WorkspacesException.Conflict($"workspace '{row.Name}' is paused, and a paused guest cannot release a disk; resume it, or stop it, first");
        if (guests.TryGet(row.Id, out var guest)) await guest.DetachDiskAsync(disk, UnplugTimeout, ct);
        dataDisks.Delete(row.Id, disk);
        File.Delete(layout.DataDisk(row.Id, disk)); // last: a crash before leaves a file no row claims, replaced by the next disk of that name
        LifecycleLog.DiskRemoved(logger, disk, row.Name);
        recorder.Publish(row, "workspace.disk-removed", row.State, $"data disk {disk}");
    }

    /// <summary>At start: every recorded data disk, in slot order, its files given to the guest's uid and its image checked as the workspace's is.</summary>
    public async Task<IReadOnlyList<GuestDataDisk>> ForStartAsync(WorkspaceRow row, CancellationToken ct)
    {
        var list = new List<GuestDataDisk>();
        foreach (var d in dataDisks.Of(row.Id))
        {
            if (d.ImageId is not null) await images.AdmitAsync(images.Get(d.ImageId), ct);
            if (!File.Exists(layout.DataDisk(row.Id, d.Name)))
                throw WorkspacesException.Conflict($"data disk '{d.Name}' of workspace '{row.Name}' is recorded but its file is missing; remove it (ws disk rm {row.Name} {d.Name})");
            GuestFiles.GiveFile(row.GuestUid, layout.DataDisk(row.Id, d.Name));
            list.Add(ForGuest(row.Id, d));
        }
        return list;
    }

    /// <summary>
    /// A copy of the workspace gets copies of its data disks: the files, byte for byte (a sealed one stays
    /// sealed with the same lineage key, which the copy shares), staged and renamed in the copy's directory.
    /// The rows follow with RecordCopies, once the copy's own row exists.
    /// </summary>
    public async Task<IReadOnlyList<DataDiskRow>> CopyFilesAsync(string sourceId, string copyId, CancellationToken ct)
    {
        var rows = dataDisks.Of(sourceId);
        foreach (var d in rows)
        {
            if (d.ImageId is not null) disks.LinkBacking(copyId, images.Get(d.ImageId));
            string staging = layout.DataDiskStaging(copyId, d.Name);
            await using (var from = new FileStream(layout.DataDisk(sourceId, d.Name), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan))
            await using (var to = new FileStream(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                await from.CopyToAsync(to, ct);
                to.Flush(flushToDisk: true);
            }
            File.Move(staging, layout.DataDisk(copyId, d.Name));
        }
        return rows;
    }

    public void RecordCopies(string copyId, IReadOnlyList<DataDiskRow> rows)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var d in rows)
        {
            var copy = new DataDiskRow
            {
                WorkspaceId = copyId, Name = d.Name, Kind = d.Kind, Size = d.Size, ImageId = d.ImageId, Serial = d.Serial,
                Position = d.Position, Sealed = d.Sealed, CreatedAt = now,
            };
            if (!dataDisks.TryInsert(copy)) throw new InvalidOperationException($"data disk {d.Name} of a new copy {copyId} already recorded");
        }
    }

    /// <summary>Whether any of the workspace's data disks is in clear (a checkin that would seal the lineage must not leave them so).</summary>
    public bool AnyInClear(string workspaceId) => dataDisks.Of(workspaceId).Any(d => !d.Sealed);

    private string? ImageName(DataDiskRow d) => d.ImageId is null ? null : images.Exists(d.ImageId) ? images.Get(d.ImageId).Name : d.ImageId;

    private GuestDataDisk ForGuest(string id, DataDiskRow d)
    {
        var top = new DiskLayer(layout.DataDisk(id, d.Name), "qcow2", d.Sealed);
        var chain = d.ImageId is null ? new DiskChain([top]) : images.DiskChain(images.Get(d.ImageId)).On(top);
        return new GuestDataDisk(d.Name, chain, d.Position);
    }

    private long CheckSize(string size)
    {
        long bytes = ByteSize.Parse(size, "disk size");
        long max = (long)options.CurrentValue.Policy.MaxDataDiskGiB << 30;
        if (bytes < MinSize || bytes > max)
            throw WorkspacesException.BadRequest($"a data disk must be between 1M and {ByteSize.Format(max)} (this host's policy.maxDataDiskGiB), not {Names.Quote(size)}");
        if (bytes % 512 != 0) throw WorkspacesException.BadRequest($"a data disk's size must be a whole number of 512-byte sectors, not {bytes} bytes");
        return bytes;
    }

    /// <summary>
    /// The key a new data disk is sealed with: the workspace's lineage key when it is sealed, none when not.
    /// An image disk from a sealed lineage needs its key in the guest too, and a guest holds one key, so
    /// that image must be of the workspace's own lineage.
    /// </summary>
    private string? PassphraseFor(WorkspaceRow row, ImageRow? image)
    {
        var own = images.Get(row.ImageId);
        byte[]? key = images.DiskChain(own).Sealed ? images.Keys.Unseal(own) : null;
        if (image is not null && images.DiskChain(image).Sealed)
        {
            if (key is null || !CryptographicOperations.FixedTimeEquals(key, images.Keys.Unseal(image)))
                throw WorkspacesException.Conflict(
                    $"image '{image.Name}' is sealed, and a guest opens its disks with one key: its disk can only be a data disk of a workspace of the same sealed lineage, and '{row.Name}' is not one");
        }
        return key is null ? null : DiskKeys.Passphrase(key);
    }
}
