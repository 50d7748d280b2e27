using NSec.Cryptography;
using Workspaces.Client;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Images;

// Manifests, signatures, verification and the gate every launch passes through.
public sealed partial class ImageService
{
    public byte[] CanonicalManifest(ImageRow image) => ImageManifest.From(image).ToCanonicalJson();

    public ImageManifestInfo Manifest(ImageRow image)
    {
        byte[] canonical = CanonicalManifest(image);
        return new ImageManifestInfo(
            image.Id,
            System.Text.Encoding.UTF8.GetString(canonical),
            Signatures(image, canonical),
            Chain(image).Select(i => new ImageChainLink(i.Id, i.Name, i.Encrypted)).ToArray());
    }

    private SignatureInfo[] Signatures(ImageRow image, byte[] canonical) =>
        images.Signatures(image.Id).Select(s => new SignatureInfo(
            s.Signer, KeyText.Fingerprint(s.Signer), TrustPolicy.IsValid(s, canonical), trust.NameOf(s.Signer),
            DateTimeOffset.FromUnixTimeMilliseconds(s.SignedAt))).ToArray();

    /// <summary>
    /// Signs the canonical manifest with this host's key, or with a PEM private key used for this one
    /// signature and not kept, or records a detached signature made elsewhere once it verifies.
    /// </summary>
    public SignatureInfo Sign(ImageRow image, SignImageRequest request)
    {
        byte[] canonical = CanonicalManifest(image);
        SignatureRow row;
        if (request.Signature is not null || request.Signer is not null)
        {
            if (request.PrivateKey is not null || request.Signature is null || request.Signer is null)
                throw Errors.WorkspacesException.BadRequest("a detached signature needs both the signer's public key and the signature, and no private key");
            row = new SignatureRow(image.Id, KeyText.NormalizeSigning(request.Signer), request.Signature.Trim(), Now());
            if (!TrustPolicy.IsValid(row, canonical))
                throw Errors.WorkspacesException.BadRequest(
                    $"the signature does not verify over the manifest of '{image.Name}' with key {KeyText.Fingerprint(row.Signer)}; sign the exact bytes `ws image manifest` prints");
        }
        else if (request.PrivateKey is null)
        {
            row = new SignatureRow(image.Id, host.SigningPublicKey, Convert.ToBase64String(host.Sign(canonical)), Now());
        }
        else
        {
            using var key = HostIdentity.ImportSigningKey(request.PrivateKey);
            row = new SignatureRow(image.Id, KeyText.Format(key.PublicKey),
                Convert.ToBase64String(SignatureAlgorithm.Ed25519.Sign(key, canonical)), Now());
        }
        images.AddSignature(row);
        return Signatures(image, canonical).Single(s => s.Signer == row.Signer);
    }

    /// <summary>A signature by this host over a manifest, for images the Factory makes.</summary>
    public SignatureRow HostSignature(ImageRow image) =>
        new(image.Id, host.SigningPublicKey, Convert.ToBase64String(host.Sign(CanonicalManifest(image))), Now());

    /// <summary>Re-hashes every blob of the image's chain and checks its signatures and the site policy.</summary>
    public async Task<VerifyReport> VerifyAsync(ImageRow image, CancellationToken ct)
    {
        var problems = new List<string>();
        foreach (var link in Chain(image)) problems.AddRange(await integrity.RehashAsync(link, ct));
        byte[] canonical = CanonicalManifest(image);
        var signatures = Signatures(image, canonical);
        problems.AddRange(signatures.Where(s => !s.Valid).Select(s => $"the signature by {s.Fingerprint} does not match the manifest"));
        string? refused = null;
        try { trust.Check(image, canonical, images.Signatures(image.Id)); }
        catch (Errors.WorkspacesException e) { refused = e.Message; }
        return new VerifyReport(image.Name, image.Id, problems.Count == 0, problems.ToArray(), signatures, refused is null, refused);
    }

    public async Task<VerifyReport[]> VerifyAllAsync(CancellationToken ct)
    {
        var reports = new List<VerifyReport>();
        foreach (var image in images.List()) reports.Add(await VerifyAsync(image, ct));
        return reports.ToArray();
    }

    /// <summary>
    /// The gate before a workspace is made or started from an image: every blob of its chain still
    /// matches its address (O(1) unless a file changed), and the site policy admits the image.
    /// </summary>
    public async Task AdmitAsync(ImageRow image, CancellationToken ct)
    {
        foreach (var link in Chain(image)) await integrity.EnsureIntactAsync(link, ct);
        trust.Check(image, CanonicalManifest(image), images.Signatures(image.Id));
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
