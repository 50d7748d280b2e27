using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// Public keys as text: "ed25519:BASE64" or "x25519:BASE64" of the raw 32 bytes (short, greppable,
/// safe on a command line), or a PEM "PUBLIC KEY" as openssl writes it. Fingerprints are
/// "SHA256:" and the unpadded base64 of the raw key's hash, as OpenSSH shows them.
/// </summary>
public static class KeyText
{
    public const string Ed25519Prefix = "ed25519:";
    public const string X25519Prefix = "x25519:";

    public static string Format(PublicKey key) =>
        (key.Algorithm is SignatureAlgorithm ? Ed25519Prefix : X25519Prefix)
        + Convert.ToBase64String(key.Export(KeyBlobFormat.RawPublicKey));

    public static string Fingerprint(string keyText) =>
        "SHA256:" + Convert.ToBase64String(SHA256.HashData(Raw(keyText))).TrimEnd('=');

    /// <summary>The raw key bytes of a key in our text form.</summary>
    private static byte[] Raw(string keyText) => Convert.FromBase64String(keyText[(keyText.IndexOf(':') + 1)..]);

    public static PublicKey ParseSigning(string text) => Parse(text, SignatureAlgorithm.Ed25519, Ed25519Prefix, "Ed25519 signing");

    public static PublicKey ParseSealing(string text) => Parse(text, KeyAgreementAlgorithm.X25519, X25519Prefix, "X25519 sealing");

    /// <summary>Normalizes any accepted form (prefix or PEM) to "ed25519:BASE64".</summary>
    public static string NormalizeSigning(string text) => Format(ParseSigning(text));

    private static PublicKey Parse(string text, Algorithm algorithm, string prefix, string what)
    {
        text = text.Trim();
        try
        {
            if (text.StartsWith("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal))
                return PublicKey.Import(algorithm, Encoding.ASCII.GetBytes(text), KeyBlobFormat.PkixPublicKeyText);
            if (text.StartsWith(prefix, StringComparison.Ordinal))
                return PublicKey.Import(algorithm, Convert.FromBase64String(text[prefix.Length..]), KeyBlobFormat.RawPublicKey);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw WorkspacesException.BadRequest($"'{Shorten(text)}' is not a valid {what} public key: {e.Message}");
        }
        throw WorkspacesException.BadRequest(
            $"'{Shorten(text)}' is not an {what} public key: give '{prefix}BASE64' (as `ws host` shows) or a PEM public key");
    }

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
