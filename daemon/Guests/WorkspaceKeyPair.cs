using NSec.Cryptography;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// A workspace's own Ed25519 key pair, made at create. The daemon keeps the private key only sealed
/// to its host's X25519 key (KeySeal); the guest gets it as a PKCS#8 PEM (openssl reads it) once.
/// </summary>
public sealed record WorkspaceKeyPair(string PublicKey, byte[] SealedPrivateKey)
{
    public static WorkspaceKeyPair Create(HostIdentity host)
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        byte[] pem = key.Export(KeyBlobFormat.PkixPrivateKeyText);
        try
        {
            return new WorkspaceKeyPair(KeyText.Format(key.PublicKey), KeySeal.Seal(pem, host.SealingKey.PublicKey));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(pem);
        }
    }

    /// <summary>The PEM private key, for the seed; null when it was sealed to another host's key.</summary>
    public static byte[]? OpenPrivateKey(byte[] sealedKey, HostIdentity host) => KeySeal.Open(sealedKey, host.SealingKey);
}
