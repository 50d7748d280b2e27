using NSec.Cryptography;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// The host's WireGuard key pair (X25519, issue #17's spanning networks), made on first start beside
/// the other host keys in {state}/keys: wireguard.key holds the private key in wg's own format (32
/// raw bytes, base64), mode 0600, written to a temporary name and renamed so a crash never leaves
/// half a key. The private key never leaves the host: it reaches wg on stdin (WireGuardTunnel), and
/// only the public key is told to peers.
/// </summary>
public sealed class WireGuardKey
{
    public WireGuardKey(string stateDir)
    {
        string dir = Path.Combine(stateDir, "keys");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string path = Path.Combine(dir, "wireguard.key");
        byte[] privateKey = File.Exists(path) ? Parse(File.ReadAllText(path)) : Create(path);
        PrivateKey = Convert.ToBase64String(privateKey);
        PublicKey = PublicOf(privateKey);
    }

    /// <summary>Base64, as `wg set ... private-key` reads it: for WireGuardTunnel only, never for the wire.</summary>
    public string PrivateKey { get; }

    /// <summary>Base64, as `wg set ... peer` takes it: what peers are told.</summary>
    public string PublicKey { get; }

    /// <summary>The public key of a base64 private key, as `wg pubkey` computes it.</summary>
    public static string PublicOf(byte[] privateKey)
    {
        using var key = Key.Import(KeyAgreementAlgorithm.X25519, privateKey, KeyBlobFormat.RawPrivateKey);
        return Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    /// <summary>A WireGuard key as peers send it: base64 of exactly 32 bytes, or null.</summary>
    public static bool IsValidPublicKey(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length != 44) return false;
        Span<byte> bytes = stackalloc byte[33];
        return Convert.TryFromBase64String(text, bytes, out int written) && written == 32;
    }

    private static byte[] Parse(string text)
    {
        byte[] bytes = Convert.FromBase64String(text.Trim());
        return bytes.Length == 32 ? bytes : throw new InvalidDataException("wireguard.key does not hold a 32-byte key in base64");
    }

    private static byte[] Create(string path)
    {
        using var key = Key.Create(KeyAgreementAlgorithm.X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        byte[] raw = key.Export(KeyBlobFormat.RawPrivateKey);
        // WireGuard clamps the scalar as X25519 does: clamping here too keeps the file what `wg genkey` writes.
        raw[0] &= 248;
        raw[31] = (byte)((raw[31] & 127) | 64);
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, new FileStreamOptions
               {
                   Mode = FileMode.Create,
                   Access = FileAccess.Write,
                   UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
               }))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(raw) + "\n"));
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: false);
        return raw;
    }
}
