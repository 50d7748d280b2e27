using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Images;

/// <summary>
/// Takes in an image chain whose blobs were staged by some path (an archive, a pull from peers) with
/// the same checks whatever the path: the part of the chain this host lacks is found by walking
/// parents until an image the cache has; every blob of it must be staged or cached, every signature
/// must verify, a delta's disk must sit on its parent's disk and a base's on nothing; only then is
/// it registered, base first. Images already here gain the signatures and seals that came with them.
/// Refusals read "{refusal}: why", the caller saying what was refused ("the image archive is refused").
/// </summary>
public sealed class ChainImport(ImageService images, ImageStore store, ImageRepository rows, QemuImg qemuImg)
{
    /// <summary>As deep as ImageService.Chain walks: a deeper chain could be registered but never used.</summary>
    private const int MaxDepth = 64;

    /// <summary>The images of the chain this host lacks, base first (empty when it has the top).</summary>
    public IReadOnlyList<ImageManifest> Missing(ChainMetadata chain, string refusal)
    {
        var missing = new List<ImageManifest>();
        for (string? id = chain.Top; id is not null && rows.Find(id) is null; id = missing[^1].Parent)
        {
            // Manifests name their parents but a parent is not part of an id, so two manifests can name each other.
            if (missing.Count == MaxDepth) throw Refused(refusal, $"its chain of images is deeper than {MaxDepth} (a loop?)");
            var manifest = chain.Manifests.GetValueOrDefault(id) ?? throw Refused(refusal, $"it lacks the manifest of image {id[..12]}, which its chain needs");
            if (manifest.Id != id) throw Refused(refusal, $"the manifest given for image {id[..12]} describes image {manifest.Id[..12]}");
            missing.Add(manifest);
        }
        missing.Reverse();
        return missing;
    }

    /// <summary>The blobs of the missing part of the chain that the cache lacks: what must be fetched before ImportAsync.</summary>
    public IReadOnlyList<string> MissingBlobs(ChainMetadata chain, string refusal) =>
        Missing(chain, refusal).SelectMany(m => m.ToRow().Blobs).Distinct().Where(sha => !File.Exists(store.BlobPath(sha))).ToList();

    /// <summary>
    /// Checks all of the missing chain, then registers it base first and merges what came for images
    /// already here; returns the top image. Staged blobs the registration consumed are taken out of
    /// <paramref name="staged"/>; the caller deletes whatever is left in it, whether this succeeds or not.
    /// </summary>
    public async Task<ImageRow> ImportAsync(ChainMetadata chain, Dictionary<string, StagedBlob> staged, string refusal, CancellationToken ct)
    {
        var missing = Missing(chain, refusal);
        foreach (var manifest in missing)
            await CheckAsync(manifest, chain, staged, refusal, ct);
        foreach (var manifest in missing)
        {
            var blobs = manifest.ToRow().Blobs.Where(staged.ContainsKey).Select(sha => staged[sha]).ToList();
            images.Register(manifest.ToRow(), blobs, Own(manifest.Id, chain.SignaturesOf(manifest.Id)), Own(manifest.Id, chain.SealedKeysOf(manifest.Id)));
            foreach (var blob in blobs) staged.Remove(blob.Sha256);
        }
        // Images already here gain the signatures and seals that came with them (a reseal travels this way).
        foreach (var id in chain.Manifests.Keys.Where(id => missing.All(m => m.Id != id)))
            if (rows.Find(id) is { } existing)
                Merge(existing, Own(id, chain.SignaturesOf(id)), Own(id, chain.SealedKeysOf(id)));
        return rows.Find(chain.Top)!;
    }

    /// <summary>Every blob present and sound, every signature valid, a delta on its parent's disk, a base on nothing.</summary>
    private async Task CheckAsync(ImageManifest manifest, ChainMetadata chain, Dictionary<string, StagedBlob> staged, string refusal, CancellationToken ct)
    {
        foreach (var sha in manifest.ToRow().Blobs)
            if (!staged.ContainsKey(sha) && !File.Exists(store.BlobPath(sha)))
                throw Refused(refusal, $"it lacks blob {sha[..12]} of image '{manifest.Name}'");
        byte[] canonical = manifest.ToCanonicalJson();
        foreach (var s in chain.SignaturesOf(manifest.Id))
            if (!TrustPolicy.IsValid(s, canonical))
                throw Refused(refusal, $"the signature by {KeyText.Fingerprint(s.Signer)} on image '{manifest.Name}' does not verify");
        if (manifest.Disk is null || !staged.TryGetValue(manifest.Disk, out var disk)) return;

        string? parentDisk = manifest.Parent is null ? null
            : chain.Manifests.GetValueOrDefault(manifest.Parent)?.Disk ?? rows.Find(manifest.Parent)?.Disk;
        var info = await qemuImg.InfoAsync(disk.Path, ct);
        if (info.Format != manifest.DiskFormat || info.Encrypted != manifest.Encrypted || info.DataFile is not null || info.BackingFile != parentDisk)
            throw Refused(refusal, $"the disk of image '{manifest.Name}' is not what its manifest says " +
                                   $"(format {info.Format}, encrypted {info.Encrypted}, backing '{info.BackingFile ?? "none"}')");
        if (info.Format == "qcow2" && !info.Encrypted && info.BackingFile is null) await qemuImg.CheckAsync(disk.Path, ct);
    }

    private void Merge(ImageRow existing, IEnumerable<SignatureRow> signatures, IEnumerable<ImageKeyRow> sealedKeys)
    {
        byte[] canonical = images.CanonicalManifest(existing);
        foreach (var s in signatures.Where(s => TrustPolicy.IsValid(s, canonical))) rows.AddSignature(s);
        foreach (var k in sealedKeys) rows.AddKey(k);
    }

    // Rows are filed under the image they came with, whatever id a sender put in them.
    private static IEnumerable<SignatureRow> Own(string id, IEnumerable<SignatureRow> signatures) => signatures.Select(s => s with { ImageId = id });

    private static IEnumerable<ImageKeyRow> Own(string id, IEnumerable<ImageKeyRow> keys) => keys.Select(k => k with { ImageId = id });

    private static WorkspacesException Refused(string refusal, string why) => WorkspacesException.Unprocessable($"{refusal}: {why}");
}
