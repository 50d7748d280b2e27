using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// A workspace's disk: a qcow2 on its image's disk blob, named by hash and reached through a link
/// beside it (one per layer of the chain, since each delta names its parent the same way), so the
/// overlay's header already is what a checked-in delta's must be. On a sealed lineage the overlay
/// is sealed with the same key, so guest writes never land in clear.
/// </summary>
public sealed class WorkspaceDisks(ImageService images, QemuImg qemuImg, WorkspaceLayout layout)
{
    public async Task CreateOverlayAsync(string id, ImageRow image, string path, CancellationToken ct)
    {
        LinkBacking(id, image);
        string? passphrase = images.DiskChain(image).Sealed ? DiskKeys.Passphrase(images.Keys.Unseal(image)) : null;
        await qemuImg.CreateOverlayAsync(image.Disk!, image.DiskFormat!, path, image.DiskVirtualSize ?? 0, passphrase, ct);
    }

    /// <summary>A data disk on an image's disk: an overlay like the workspace's own, sealed with the workspace's key when given one.</summary>
    public async Task CreateDataOverlayAsync(string id, ImageRow image, string path, string? passphrase, CancellationToken ct)
    {
        LinkBacking(id, image);
        await qemuImg.CreateOverlayAsync(image.Disk!, image.DiskFormat!, path, image.DiskVirtualSize ?? 0, passphrase, ct);
    }

    public void LinkBacking(string id, ImageRow image)
    {
        foreach (var disk in images.Chain(image).Select(i => i.Disk).OfType<string>())
            if (!Path.Exists(layout.BackingLink(id, disk))) // a checked-in workspace keeps the links of its old chain
                File.CreateSymbolicLink(layout.BackingLink(id, disk), Path.GetRelativePath(layout.Dir(id), images.BlobPath(disk)));
    }

    /// <summary>
    /// Runs the steps of a create that need the image until the workspace's row holds it. An image
    /// removed meanwhile makes them fail (qemu-img finds no blob, or the row's reference is refused):
    /// that is a 409 saying so, not the tool's error.
    /// </summary>
    public async Task WhileImageExistsAsync(ImageRow image, Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch (Exception e) when (e is not WorkspacesException { Status: 409 } && !images.Exists(image.Id))
        {
            throw WorkspacesException.Conflict($"image '{image.Name}' was removed while the workspace was being made from it");
        }
    }
}
