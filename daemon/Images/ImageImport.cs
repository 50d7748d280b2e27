using Workspaces.Daemon.Core;
using Microsoft.Win32.SafeHandles;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Images;

/// <summary>
/// One import in progress: parts are streamed into staging as they arrive, then validated and
/// committed together. Disposing an uncommitted import removes every staged file; a failed commit
/// removes the blobs it had placed, so a refused import leaves nothing behind.
/// </summary>
public sealed class ImageImport(ImageService images, ImageStore store, QemuImg qemuImg) : IAsyncDisposable
{
    public static readonly string[] Parts = ["disk", "kernel", "initrd"];

    private readonly Dictionary<string, StagedBlob> _staged = new();

    public async Task AddPartAsync(string part, Stream content, Action<long>? progress, CancellationToken ct)
    {
        CheckPart(part);
        _staged[part] = await store.StageAsync(content, progress, ct);
    }

    /// <summary>A part from a file on this host: copied into staging and hashed in one pass.</summary>
    public async Task AddLocalPartAsync(string part, SafeFileHandle file, CancellationToken ct)
    {
        CheckPart(part);
        _staged[part] = await store.StageCopyAsync(file, ct);
    }

    private void CheckPart(string part)
    {
        if (!Parts.Contains(part))
            throw WorkspacesException.BadRequest($"unknown image part '{part}'; an import may hold: {string.Join(", ", Parts)}");
        if (_staged.ContainsKey(part))
            throw WorkspacesException.BadRequest($"the image part '{part}' was sent twice");
    }

    /// <summary>Validates the parts and registers the image; with encrypt, its disk is first sealed (LUKS, a new key).</summary>
    public async Task<ImageRow> CommitAsync(string? name, string? cmdline, bool encrypt, string[] tags, CancellationToken ct)
    {
        if (name is null) throw WorkspacesException.BadRequest("an image import needs a name");
        Names.CheckImage(name);
        foreach (var tag in tags) Names.CheckImage(tag);
        KernelCmdline.Check(cmdline);
        _staged.TryGetValue("disk", out var disk);
        _staged.TryGetValue("kernel", out var kernel);
        _staged.TryGetValue("initrd", out var initrd);
        if (disk is null && kernel is null)
            throw WorkspacesException.BadRequest("an image needs a disk, or a kernel (with an optional initrd), or both");
        if (initrd is not null && kernel is null)
            throw WorkspacesException.BadRequest("an initrd was sent without a kernel");
        if (cmdline is not null && kernel is null)
            throw WorkspacesException.BadRequest("a kernel command line was sent without a kernel");
        if (encrypt && disk is null)
            throw WorkspacesException.BadRequest("--encrypt seals the disk, and this image has none");

        if (kernel is not null && !BootArtifacts.IsKernel(kernel.Path))
            throw WorkspacesException.Unprocessable("the kernel is not a Linux bzImage (no 'HdrS' boot header)");
        if (initrd is not null && !BootArtifacts.IsInitrd(initrd.Path))
            throw WorkspacesException.Unprocessable("the initrd is neither a cpio archive nor compressed with a format the kernel reads");
        QemuImgInfo? info = disk is null ? null : await ValidateDiskAsync(disk, ct);

        byte[]? key = null;
        if (encrypt)
        {
            key = DiskKeys.NewKey();
            string sealedPath = store.NewStagingPath();
            try
            {
                await qemuImg.ConvertAsync(new DiskChain([new DiskLayer(disk!.Path, info!.Format, false)]), sealedPath,
                    null, null, encryptOutput: true, DiskKeys.Passphrase(key), ct);
            }
            catch
            {
                File.Delete(sealedPath);
                throw;
            }
            File.Delete(disk.Path);
            _staged["disk"] = disk = await store.HashStagedAsync(sealedPath, ct);
            info = info with { Format = "qcow2" };
        }

        var row = new ImageRow
        {
            Id = ImageFingerprint.Compute(kernel?.Sha256, initrd?.Sha256, disk?.Sha256, info?.Format, cmdline),
            Name = name,
            Tags = string.Join(' ', tags.Distinct().Order(StringComparer.Ordinal)),
            Kind = kernel is null ? "disk" : "bootset",
            Disk = disk?.Sha256,
            DiskFormat = info?.Format,
            DiskVirtualSize = info?.VirtualSize,
            Kernel = kernel?.Sha256,
            Initrd = initrd?.Sha256,
            Cmdline = cmdline,
            Size = _staged.Values.Sum(b => b.Size),
            CreatedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Encrypted = encrypt,
        };
        // Imports are not signed: the importer attests nothing. `ws image sign` does, on purpose.
        var sealedKeys = key is null ? [] : new[] { images.Keys.SealForThisHost(row.Id, key) };
        var blobs = _staged.Values.ToList();
        _staged.Clear();
        try
        {
            return images.Register(row, blobs, [], sealedKeys);
        }
        catch
        {
            foreach (var blob in blobs) File.Delete(blob.Path); // Register left them all in staging
            throw;
        }
    }

    /// <summary>Only self-contained qcow2 or raw disks: a backing or external data file could point anywhere on the host.</summary>
    private async Task<QemuImgInfo> ValidateDiskAsync(StagedBlob disk, CancellationToken ct)
    {
        var info = await qemuImg.InfoAsync(disk.Path, ct);
        switch (info.Format)
        {
            case "qcow2":
                if (info.BackingFile is not null)
                    throw WorkspacesException.Unprocessable($"the qcow2 disk has a backing file ('{info.BackingFile}'); import a standalone image (qemu-img convert it first)");
                if (info.DataFile is not null)
                    throw WorkspacesException.Unprocessable($"the qcow2 disk uses an external data file ('{info.DataFile}'); import a standalone image");
                await qemuImg.CheckAsync(disk.Path, ct);
                break;
            case "raw":
                // Any bytes probe as "raw"; a real disk is a whole number of sectors.
                if (disk.Size == 0 || disk.Size % 512 != 0)
                    throw WorkspacesException.Unprocessable($"the disk is not a qcow2 image, and as a raw disk its size ({disk.Size} bytes) is not a whole number of 512-byte sectors");
                break;
            default:
                throw WorkspacesException.Unprocessable($"disk format '{info.Format}' is not supported; use qcow2 or raw");
        }
        return info;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var blob in _staged.Values) File.Delete(blob.Path);
        _staged.Clear();
        return ValueTask.CompletedTask;
    }
}
