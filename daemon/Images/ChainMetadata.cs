using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Images;

/// <summary>
/// What describes an image chain arriving from elsewhere (an archive, a peer), keyed by image id:
/// each image's manifest, the signatures over it and its sealed disk keys, and which image is the top.
/// None of it is trusted until ChainImport has checked it.
/// </summary>
public sealed record ChainMetadata(
    string Top,
    IReadOnlyDictionary<string, ImageManifest> Manifests,
    IReadOnlyDictionary<string, List<SignatureRow>> Signatures,
    IReadOnlyDictionary<string, List<ImageKeyRow>> SealedKeys)
{
    public IReadOnlyList<SignatureRow> SignaturesOf(string id) => Signatures.GetValueOrDefault(id) ?? [];

    public IReadOnlyList<ImageKeyRow> SealedKeysOf(string id) => SealedKeys.GetValueOrDefault(id) ?? [];
}
