using Workspaces.Daemon.Core;
using Microsoft.Data.Sqlite;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Images;

/// <summary>
/// The image Repository in the paper's sense: list, inspect, import, register and remove cached
/// images, walk their chains, collect garbage. Trust (manifests, signatures, the launch gate):
/// ImageService.Trust.cs.
/// </summary>
public sealed partial class ImageService(
    ImageStore store,
    ImageRepository images,
    BlobPieceRepository pieces,
    QemuImg qemuImg,
    ImageIntegrity integrity,
    DiskKeys keys,
    TrustPolicy trust,
    HostIdentity host)
{
    public IReadOnlyList<ImageRow> List() => images.List();

    public ImageRow Get(string reference) =>
        images.Find(reference) ?? throw WorkspacesException.NotFound($"no image named or with fingerprint {Names.Quote(reference)}");

    public ImageImport BeginImport() => new(this, store, qemuImg);

    public string BlobPath(string sha256) => store.BlobPath(sha256);

    public bool Exists(string id) => images.Find(id) is not null;

    public HostIdentity Host => host;

    public DiskKeys Keys => keys;

    public IReadOnlyList<ImageKeyRow> SealedKeys(ImageRow image) => images.Keys(image.Id);

    public string Reseal(ImageRow image, string recipient) => keys.Reseal(Chain(image), recipient);

    /// <summary>The image, then its parent, down to the base.</summary>
    public IReadOnlyList<ImageRow> Chain(ImageRow image)
    {
        var chain = new List<ImageRow> { image };
        while (chain[^1].Parent is { } parent)
        {
            if (chain.Count > 64) throw new WorkspacesException(500, "Broken chain", $"image '{image.Name}' has a parent chain deeper than 64 (a loop?)");
            chain.Add(images.Find(parent) ?? throw new WorkspacesException(500, "Broken chain",
                $"image '{chain[^1].Name}' names parent {parent[..12]}, which is not in the cache"));
        }
        return chain;
    }

    /// <summary>The files QEMU opens for a disk built on this image, top first (the overlay goes on top).</summary>
    public DiskChain DiskChain(ImageRow image) =>
        new(Chain(image).Where(i => i.Disk is not null)
            .Select(i => new DiskLayer(store.BlobPath(i.Disk!), i.DiskFormat!, i.Encrypted)).ToList());

    /// <summary>
    /// Places staged blobs at their addresses and records the image with its signatures and sealed
    /// keys in one transaction. On success the staged files are consumed (a blob the cache already
    /// held is dropped); on failure every staged file is back where it was, for the caller to keep
    /// or delete.
    /// </summary>
    public ImageRow Register(ImageRow row, IReadOnlyList<StagedBlob> blobs, IEnumerable<SignatureRow> signatures, IEnumerable<ImageKeyRow> sealedKeys)
    {
        CheckNew(row);
        var placed = new List<StagedBlob>();
        try
        {
            foreach (var blob in blobs)
            {
                if (store.Commit(blob)) placed.Add(blob);
                integrity.Record(blob.Sha256);
            }
            images.Insert(row, signatures, sealedKeys);
        }
        catch (Exception e)
        {
            foreach (var blob in placed) store.Uncommit(blob);
            if (e is SqliteException { SqliteErrorCode: 19 })
                throw WorkspacesException.Conflict($"an image named '{row.Name}' (or with the same content) was registered at the same time");
            throw;
        }
        foreach (var blob in blobs.Except(placed)) File.Delete(blob.Path);
        return row;
    }

    /// <summary>Refuses an image whose content or name is here already.</summary>
    public void CheckNew(ImageRow row)
    {
        if (images.Find(row.Id) is { } same)
            throw WorkspacesException.Conflict($"this image is already in the cache as '{same.Name}' ({same.Id[..12]})");
        if (images.Find(row.Name) is not null)
            throw WorkspacesException.Conflict($"an image named '{row.Name}' already exists");
    }

    /// <summary>
    /// Gives a checkin's disk its address in the cache before the image is registered: a staged copy
    /// moves there; an adopted overlay gets it as a second name (it stays the workspace's disk until
    /// the workspace is given a fresh overlay). False if the cache held that blob already.
    /// </summary>
    public bool PlaceCheckinDisk(StagedBlob disk, bool adopted) => adopted ? store.Link(disk) : store.Commit(disk);

    /// <summary>Takes back a blob that no image came to use (a checkin rolled back).</summary>
    public void DropUnregisteredBlob(string sha256)
    {
        if (images.BlobInUse(sha256)) return;
        store.DeleteBlob(sha256);
        ForgetBlob(sha256);
    }

    /// <summary>What SQLite knows about a deleted blob's bytes goes with them.</summary>
    private void ForgetBlob(string sha256)
    {
        images.ForgetCheck(sha256);
        pieces.Forget(sha256);
    }

    /// <summary>Records a blob's file identity as intact now (after its last change of names).</summary>
    public void RecordIntact(string sha256) => integrity.Record(sha256);

    public void Delete(string reference) => Remove(Get(reference));

    private void Remove(ImageRow image)
    {
        var users = images.DeleteUnlessUsed(image.Id);
        if (users.Count > 0)
            throw WorkspacesException.Conflict($"image '{image.Name}' is still needed by {string.Join(", ", users)}; remove those first");
        foreach (var blob in image.Blobs)
            if (!images.BlobInUse(blob))
            {
                store.DeleteBlob(blob);
                ForgetBlob(blob);
            }
    }

    /// <summary>
    /// Removes images that no workspace, no tag and no delta refers to, repeating as removing a
    /// delta frees its parent. A parent a delta still needs is never removed.
    /// </summary>
    public (List<ImageRow> Removed, long FreedBytes) Prune()
    {
        var removed = new List<ImageRow>();
        long freed = 0;
        while (images.Unreferenced() is { Count: > 0 } candidates)
        {
            int before = removed.Count;
            foreach (var image in candidates)
            {
                var blobs = image.Blobs.Select(b => (Sha: b, Size: File.Exists(store.BlobPath(b)) ? new FileInfo(store.BlobPath(b)).Length : 0)).ToList();
                try { Remove(image); }
                catch (WorkspacesException) { continue; } // taken into use meanwhile
                removed.Add(image);
                freed += blobs.Where(b => !File.Exists(store.BlobPath(b.Sha))).Sum(b => b.Size);
            }
            if (removed.Count == before) break;
        }
        return (removed, freed);
    }
}
