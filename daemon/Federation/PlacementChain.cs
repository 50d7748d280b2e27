using Workspaces.Client;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// What placement needs of this host's image cache: an image's chain as blobs with their sizes (what a
/// host must hold to launch it), and which of a list of blobs are here.
/// </summary>
public sealed class PlacementChain(ImageService images, ImageRepository rows, ImageStore store)
{
    /// <summary>The chain of an image held here, or null if no image of that name or fingerprint is here.</summary>
    public PeerImageChain? Find(string reference)
    {
        if (rows.Find(reference) is not { } image) return null;
        var chain = images.Chain(image);
        var blobs = chain
            .SelectMany(i => i.Blobs.Select(sha => (Sha: sha, Image: i.Id)))
            .DistinctBy(b => b.Sha) // a kernel shared by a delta and its base counts once
            .Select(b => new ChainBlob(b.Sha, SizeOf(b.Sha) ?? 0, b.Image))
            .ToArray();
        return new PeerImageChain(image.Id, image.Name, chain.Select(i => i.Id).ToArray(), blobs);
    }

    /// <summary>The blobs of the list that are in this host's store.</summary>
    public string[] Held(IEnumerable<string> sha256) => sha256.Where(sha => SizeOf(sha) is not null).Distinct().ToArray();

    private long? SizeOf(string sha256)
    {
        // Only what looks like a hash is looked up: the list comes from a peer.
        if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower)) return null;
        var file = new FileInfo(store.BlobPath(sha256));
        return file.Exists ? file.Length : null;
    }
}
