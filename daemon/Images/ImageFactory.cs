using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Images;

/// <summary>
/// The Factory of the paper: makes images from existing ones. Checkin turns a workspace's disk
/// into a delta image on its base; flatten makes a standalone copy. Every image it makes records
/// its provenance and is signed by this host; a sealed lineage stays sealed with the same key.
/// </summary>
public sealed class ImageFactory(ImageService images, ImageStore store, QemuImg qemuImg)
{
    /// <summary>
    /// Makes, without registering anything, what a checkin registers: the overlay of a stopped
    /// workspace as a qcow2 delta whose backing file is its base's disk blob, named by hash.
    /// Usually the overlay already is exactly that (it was made on the blob's hash), so it is hashed
    /// where it lies (Adopted: it becomes the blob under a second name, no data copied). Sealing a
    /// plain lineage from here on rewrites the clusters through qemu-img into staging instead.
    /// The caller records, places and registers it (WorkspaceLifecycle.Factory.cs), or deletes a
    /// staged copy.
    /// </summary>
    public async Task<CheckinPlan> PrepareCheckinAsync(WorkspaceRow workspace, string overlay, ImageRow baseImage, string name, bool encrypt,
        string[] tags, CancellationToken ct)
    {
        CheckNames(name, tags);
        if (baseImage.Disk is null || !File.Exists(overlay))
            throw WorkspacesException.Conflict($"workspace '{workspace.Name}' has no disk to check in (its image '{baseImage.Name}' boots a kernel only)");
        var chain = images.DiskChain(baseImage);
        byte[]? key = chain.Sealed ? images.Keys.Unseal(baseImage) : encrypt ? DiskKeys.NewKey() : null;

        bool adopt = chain.Sealed || !encrypt;
        StagedBlob delta;
        if (adopt)
        {
            if ((await qemuImg.InfoAsync(overlay, ct)).BackingFile != baseImage.Disk)
                throw WorkspacesException.Conflict(
                    $"workspace '{workspace.Name}' has a disk made before backing files were named by hash; copy its data to a new workspace to check it in");
            delta = await store.StageInPlaceAsync(overlay, ct);
        }
        else
        {
            string path = store.NewStagingPath();
            try
            {
                await qemuImg.ConvertAsync(chain.On(new DiskLayer(overlay, "qcow2", false)), path, images.BlobPath(baseImage.Disk),
                    baseImage.DiskFormat, encryptOutput: true, DiskKeys.Passphrase(key!), ct);
                await qemuImg.SetBackingNameAsync(path, baseImage.Disk, baseImage.DiskFormat!, DiskKeys.Passphrase(key!), ct);
            }
            catch
            {
                File.Delete(path);
                throw;
            }
            delta = await store.HashStagedAsync(path, ct);
        }

        // The disk is what is checked in; a per-workspace command line stays with the workspace.
        var row = Derived(baseImage, delta, name, tags, key is not null);
        (row.Parent, row.OriginWorkspace) = (baseImage.Id, workspace.Name);
        try
        {
            images.CheckNew(row);
        }
        catch
        {
            if (!adopt) File.Delete(delta.Path);
            throw;
        }
        return new CheckinPlan(row, delta, adopt, [images.HostSignature(row)], SealedKeysFor(row, baseImage, chain.Sealed, key));
    }

    /// <summary>
    /// A template: a running workspace's disk delta (a copy of its overlay, a qcow2 on its base's disk blob)
    /// and its RAM and device state, both blobs of one image whose manifest names them and which this host signs,
    /// so it is exported, pulled and verified like any other image.
    /// </summary>
    public ImageRow RegisterTemplate(WorkspaceRow workspace, ImageRow baseImage, StagedBlob disk, StagedBlob state, string stateFormat,
        int memoryMib, int vcpus, string name, string[] tags)
    {
        try
        {
            CheckNames(name, tags);
            var row = Derived(baseImage, disk, name, tags, encrypted: false);
            (row.State, row.StateFormat, row.StateMemoryMib, row.StateVcpus) = (state.Sha256, stateFormat, memoryMib, vcpus);
            row.Id = ImageFingerprint.Compute(row.Kernel, row.Initrd, row.Disk, row.DiskFormat, row.Cmdline, row.State);
            row.Size += state.Size;
            (row.Parent, row.OriginWorkspace) = (baseImage.Id, workspace.Name);
            return images.Register(row, [disk, state], [images.HostSignature(row)], []);
        }
        catch
        {
            File.Delete(disk.Path);
            File.Delete(state.Path);
            throw;
        }
    }

    /// <summary>A standalone copy of an image's disk (its chain merged), with the same boot parts.</summary>
    public async Task<ImageRow> FlattenAsync(ImageRow image, string name, string[] tags, CancellationToken ct)
    {
        CheckNames(name, tags);
        if (image.Disk is null) throw WorkspacesException.Conflict($"image '{image.Name}' has no disk, so there is nothing to flatten");
        var chain = images.DiskChain(image);
        byte[]? key = chain.Sealed ? images.Keys.Unseal(image) : null;
        string path = store.NewStagingPath();
        try
        {
            await qemuImg.ConvertAsync(chain, path, null, null, encryptOutput: key is not null,
                key is null ? null : DiskKeys.Passphrase(key), ct);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        var disk = await store.HashStagedAsync(path, ct);
        var row = Derived(image, disk, name, tags, key is not null);
        row.OriginWorkspace = image.OriginWorkspace; // standalone now (no parent), still from where the content was made
        return Register(row, disk, image, chain.Sealed, key);
    }

    /// <summary>A sealed lineage's seals carried over (same key), or a new key sealed to this host.</summary>
    private IReadOnlyList<ImageKeyRow> SealedKeysFor(ImageRow row, ImageRow from, bool sealedLineage, byte[]? key) => sealedLineage
        ? images.SealedKeys(from).Select(k => k with { ImageId = row.Id }).ToList()
        : key is null ? [] : [images.Keys.SealForThisHost(row.Id, key)];

    /// <summary>Signed by this host, with its sealed keys.</summary>
    private ImageRow Register(ImageRow row, StagedBlob disk, ImageRow from, bool sealedLineage, byte[]? key)
    {
        try
        {
            return images.Register(row, [disk], [images.HostSignature(row)], SealedKeysFor(row, from, sealedLineage, key));
        }
        catch
        {
            File.Delete(disk.Path);
            throw;
        }
    }

    /// <summary>A new image with a new qcow2 disk and the boot parts and command line of the one it came from, made on this host.</summary>
    private ImageRow Derived(ImageRow from, StagedBlob disk, string name, string[] tags, bool encrypted) => new()
    {
        Id = ImageFingerprint.Compute(from.Kernel, from.Initrd, disk.Sha256, "qcow2", from.Cmdline),
        Name = name,
        Tags = string.Join(' ', tags.Distinct().Order(StringComparer.Ordinal)),
        Kind = from.Kind,
        Disk = disk.Sha256,
        DiskFormat = "qcow2",
        DiskVirtualSize = from.DiskVirtualSize,
        Kernel = from.Kernel,
        Initrd = from.Initrd,
        Cmdline = from.Cmdline,
        Size = SizeWith(disk, from),
        CreatedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        OriginHost = Environment.MachineName,
        OriginHostKey = images.Host.SigningPublicKey,
        Encrypted = encrypted,
    };

    /// <summary>An image's size: its new disk plus the boot parts it shares with the image it came from.</summary>
    private long SizeWith(StagedBlob disk, ImageRow from) =>
        disk.Size + new[] { from.Kernel, from.Initrd }.OfType<string>().Sum(b => new FileInfo(images.BlobPath(b)).Length);

    private static void CheckNames(string name, string[] tags)
    {
        Names.CheckImage(name);
        foreach (var tag in tags) Names.CheckImage(tag);
    }
}
