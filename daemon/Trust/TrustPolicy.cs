using Workspaces.Daemon.Core;
using Microsoft.Extensions.Options;
using NSec.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// The trust store (named Ed25519 signer keys) and the site policy over it. This host's own key is
/// always a trusted signer, named "host": an admin can sign with it anyway, so trusting it adds no power.
/// The policy is read on every check, so a reload (SIGHUP) applies to the next launch.
/// </summary>
public sealed class TrustPolicy(TrustRepository trust, HostIdentity host, IOptionsMonitor<WorkspacesOptions> options)
{
    public const string HostSignerName = "host";

    public IReadOnlyList<TrustedSignerRow> Signers() =>
        [new TrustedSignerRow(HostSignerName, host.SigningPublicKey, 0), .. trust.List()];

    public TrustedSignerRow Add(string name, string publicKey)
    {
        Names.CheckSigner(name);
        if (name == HostSignerName) throw WorkspacesException.Conflict($"'{HostSignerName}' is this host's own key and always trusted");
        var row = new TrustedSignerRow(name, KeyText.NormalizeSigning(publicKey), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        if (row.PublicKey == host.SigningPublicKey) throw WorkspacesException.Conflict($"that is this host's own key, trusted as '{HostSignerName}'");
        if (!trust.TryAdd(row))
            throw WorkspacesException.Conflict($"a signer named '{name}' or with key {KeyText.Fingerprint(row.PublicKey)} is already trusted");
        return row;
    }

    public void Remove(string name)
    {
        if (name == HostSignerName) throw WorkspacesException.Conflict($"'{HostSignerName}' is this host's own key and cannot be removed");
        if (!trust.Remove(name)) throw WorkspacesException.NotFound($"no trusted signer named {Names.Quote(name)}");
    }

    /// <summary>Whether a signature is valid over these bytes, checked against the key it names.</summary>
    public static bool IsValid(SignatureRow signature, byte[] canonical)
    {
        try
        {
            var key = KeyText.ParseSigning(signature.Signer);
            return SignatureAlgorithm.Ed25519.Verify(key, canonical, Convert.FromBase64String(signature.Signature));
        }
        catch (Exception e) when (e is FormatException or WorkspacesException)
        {
            return false;
        }
    }

    /// <summary>The trusted name of a signer key, or null.</summary>
    public string? NameOf(string signer) => Signers().FirstOrDefault(s => s.PublicKey == signer)?.Name;

    /// <summary>Refuses an image the site policy does not admit, saying which signatures it has and what is wanted.</summary>
    public void Check(ImageRow image, byte[] canonical, IReadOnlyList<SignatureRow> signatures)
    {
        var policy = options.CurrentValue.Policy;
        if (!policy.RequireSignedImages) return;
        var wanted = policy.TrustedSigners;
        var signers = Signers();
        bool admitted = signatures.Any(s =>
            IsValid(s, canonical)
            && signers.FirstOrDefault(t => t.PublicKey == s.Signer) is { } trusted
            && (wanted.Length == 0 || wanted.Contains(trusted.Name)));
        if (admitted) return;

        string who = wanted.Length == 0 ? "a trusted signer" : $"one of: {string.Join(", ", wanted)}";
        string has = signatures.Count == 0
            ? "it is unsigned"
            : "its signatures: " + string.Join("; ", signatures.Select(s =>
                $"{KeyText.Fingerprint(s.Signer)} ({(IsValid(s, canonical) ? NameOf(s.Signer) is { } n ? $"trusted as '{n}'" : "valid, but not a trusted key" : "INVALID")})"));
        throw WorkspacesException.Forbidden($"image '{image.Name}' is refused by the site policy (requireSignedImages): it needs a valid signature by {who}; {has}");
    }
}
