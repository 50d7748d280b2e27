using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Workspaces.Client.Audit;

/// <summary>
/// The rules both the daemon's writer and the offline verifier follow. A record's hash is the SHA-256 of
/// its line exactly as stored (UTF-8, without the newline): nothing is re-serialized to check it, so the
/// hash cannot depend on how a JSON library orders or escapes members.
/// </summary>
public static class AuditChain
{
    public const string HashPrefix = "sha256:";

    /// <summary>The Prev of the first record a host ever writes.</summary>
    public static readonly string Genesis = HashPrefix + new string('0', 64);

    /// <summary>The latest checkpoint line, replaced at each checkpoint, beside the day files: it tells a verifier how far the log reached.</summary>
    public const string HeadFile = "head.json";

    public const string Ed25519Prefix = "ed25519:";

    public static string Hash(ReadOnlySpan<byte> line) => HashPrefix + Convert.ToHexStringLower(SHA256.HashData(line));

    /// <summary>What a checkpoint's signature covers: a domain tag, the number of records before it and the hash of the last.</summary>
    public static byte[] CheckpointMessage(long count, string head) => Encoding.UTF8.GetBytes($"workspaces-audit-checkpoint-v1\n{count}\n{head}\n");

    public static string FileName(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + ".jsonl";

    /// <summary>Day files in a directory, oldest first (their names sort by date).</summary>
    public static string[] DayFiles(string directory) =>
        Directory.EnumerateFiles(directory, "????-??-??.jsonl").Order(StringComparer.Ordinal).ToArray();

    /// <summary>"ed25519:BASE64" (as `ws host` shows the signing key) to NSec's key; null if it is not one.</summary>
    public static PublicKey? ParseKey(string text)
    {
        text = text.Trim();
        if (!text.StartsWith(Ed25519Prefix, StringComparison.Ordinal)) return null;
        try
        {
            return PublicKey.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(text[Ed25519Prefix.Length..]), KeyBlobFormat.RawPublicKey);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return null;
        }
    }

    public static bool VerifySignature(PublicKey key, long count, string head, string signatureBase64)
    {
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(signatureBase64);
        }
        catch (FormatException)
        {
            return false;
        }
        return SignatureAlgorithm.Ed25519.Verify(key, CheckpointMessage(count, head), signature);
    }
}
