using System.Text;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// What a pull fetches and from whom, decided from the peers' inventories: the image (by name, or by
/// fingerprint or a 12-digit prefix of one), its chain as the peer that offers it describes it (each
/// manifest parsed in canonical form and held to its fingerprint, so a peer cannot describe an image
/// as other than it is), and for each blob the peers that hold it and its size.
/// </summary>
public sealed record PullPlan(ChainMetadata Chain, string TopName, IReadOnlyDictionary<string, long> BlobSizes,
    IReadOnlyDictionary<string, IReadOnlyList<PullSource>> Holders)
{
    private const int MaxChain = 64;

    public static PullPlan Make(string reference, IReadOnlyDictionary<PullSource, PeerImageEntry[]> inventories, IReadOnlyList<string> unreachable)
    {
        var offers = inventories
            .SelectMany(i => i.Value.Where(e => Names(e, reference)).Select(e => (Peer: i.Key, Entry: e)))
            .ToList();
        if (offers.Count == 0 && unreachable.Count > 0)
            // Perhaps on a peer not reached: worth another try (a pull resumed at start may find it up later).
            throw new WorkspacesException(502, "Peer unreachable", $"no peer reached has an image named or with fingerprint {Core.Names.Quote(reference)}; " +
                $"not reached: {string.Join("; ", unreachable)}");
        if (offers.Count == 0)
            throw WorkspacesException.NotFound($"no peer has an image named or with fingerprint {Core.Names.Quote(reference)}" +
                $" (asked {string.Join(", ", inventories.Keys.Select(p => p.Name).Order())})");
        var ids = offers.Select(o => o.Entry.Id).Distinct().ToList();
        if (ids.Count > 1)
            throw WorkspacesException.Conflict($"peers offer different images as {Core.Names.Quote(reference)}: " +
                string.Join(", ", offers.Select(o => $"{o.Peer.Name} has {o.Entry.Id[..12]}")) + "; pull by fingerprint, or name one peer with --from");
        var (offerer, top) = offers.OrderBy(o => o.Peer.Name, StringComparer.Ordinal).First();

        // The chain as the offering peer has it, down to its base; the receiver keeps only what it lacks.
        var byId = inventories[offerer].ToDictionary(e => e.Id);
        var manifests = new Dictionary<string, ImageManifest>();
        var signatures = new Dictionary<string, List<SignatureRow>>();
        var keys = new Dictionary<string, List<ImageKeyRow>>();
        for (PeerImageEntry? entry = top; entry is not null; entry = manifests[entry.Id].Parent is { } parent ? byId.GetValueOrDefault(parent) : null)
        {
            if (manifests.Count == MaxChain || manifests.ContainsKey(entry.Id))
                throw Refused($"peer '{offerer.Name}' describes a chain deeper than {MaxChain} images (a loop?)");
            var manifest = ImageManifest.Parse(Encoding.UTF8.GetBytes(entry.Manifest));
            if (manifest.Id != entry.Id) throw Refused($"peer '{offerer.Name}' offers as image {entry.Id[..12]} a manifest of {manifest.Id[..12]}");
            manifests[entry.Id] = manifest;
            signatures[entry.Id] = entry.Signatures.Select(s => new SignatureRow(entry.Id, s.Signer, s.Signature, s.SignedAt)).ToList();
            keys[entry.Id] = entry.SealedKeys.Select(k => new ImageKeyRow(entry.Id, k.Recipient, Base64(k.Sealed, offerer.Name))).ToList();
        }

        // Every peer that lists a blob holds it (a peer lists only images whose blobs it has).
        var sizes = new Dictionary<string, long>();
        var holders = new Dictionary<string, List<PullSource>>();
        foreach (var (peer, entries) in inventories.OrderBy(i => i.Key.Name, StringComparer.Ordinal))
            foreach (var blob in entries.SelectMany(e => e.Blobs))
            {
                if (!BlobAddress.IsValid(blob.Sha256) || blob.Size < 0) continue;
                sizes.TryAdd(blob.Sha256, blob.Size);
                var list = holders.TryGetValue(blob.Sha256, out var l) ? l : holders[blob.Sha256] = [];
                if (!list.Contains(peer)) list.Add(peer);
            }
        // The offerer's word on sizes comes first: it described the chain.
        foreach (var blob in byId.Values.SelectMany(e => e.Blobs)) if (BlobAddress.IsValid(blob.Sha256)) sizes[blob.Sha256] = blob.Size;
        return new PullPlan(new ChainMetadata(top.Id, manifests, signatures, keys), top.Name, sizes,
            holders.ToDictionary(h => h.Key, h => (IReadOnlyList<PullSource>)h.Value));
    }

    private static bool Names(PeerImageEntry entry, string reference) =>
        entry.Name == reference || entry.Id == reference
        || (reference.Length >= 12 && entry.Id.StartsWith(reference.ToLowerInvariant(), StringComparison.Ordinal));

    private static string Base64(string text, string peer)
    {
        try { return Convert.ToBase64String(Convert.FromBase64String(text)); }
        catch (FormatException) { throw Refused($"peer '{peer}' sent a sealed key that is not base64"); }
    }

    public static WorkspacesException Refused(string why) => WorkspacesException.Unprocessable($"{ImagePull.Refusal}: {why}");
}
