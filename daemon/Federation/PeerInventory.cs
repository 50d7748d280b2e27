using Workspaces.Client;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// This host's images as a peer sees them (GET /v1/peer/images): canonical manifests, signatures,
/// disk keys only as sealed, and each blob's size. An image one of whose blobs is not on disk is left
/// out rather than offered and then refused piece by piece.
/// </summary>
public sealed class PeerInventory(ImageService images, ImageRepository rows, ImageStore store)
{
    public PeerImageEntry[] List()
    {
        var entries = new List<PeerImageEntry>();
        foreach (var image in rows.List())
        {
            var blobs = new List<PeerBlobInfo>();
            foreach (var sha in image.Blobs.Distinct())
            {
                var file = new FileInfo(store.BlobPath(sha));
                if (!file.Exists) break;
                blobs.Add(new PeerBlobInfo(sha, file.Length));
            }
            if (blobs.Count != image.Blobs.Distinct().Count()) continue;
            entries.Add(new PeerImageEntry(image.Id, image.Name,
                System.Text.Encoding.UTF8.GetString(images.CanonicalManifest(image)),
                rows.Signatures(image.Id).Select(s => new PeerImageSignature(s.Signer, s.Signature, s.SignedAt)).ToArray(),
                rows.Keys(image.Id).Select(k => new PeerSealedKey(k.Recipient, k.Sealed)).ToArray(),
                blobs.ToArray()));
        }
        return entries.ToArray();
    }
}
