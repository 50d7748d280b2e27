using System.Text;
using NSec.Cryptography;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// Seals a secret to an X25519 public key so only the holder of its private key can open it
/// (ECIES: an ephemeral X25519 key, HKDF-SHA256 over the shared secret bound to both public keys,
/// ChaCha20-Poly1305). Layout: magic "wsseal1\0" | ephemeral public key (32) | ciphertext+tag.
/// The derived key is used once, so a zero nonce is safe.
/// </summary>
public static class KeySeal
{
    private static readonly byte[] Magic = "wsseal1\0"u8.ToArray();
    private static readonly byte[] Info = Encoding.ASCII.GetBytes("workspaces image key seal v1");
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.ChaCha20Poly1305;
    private const int PublicKeySize = 32;

    public static byte[] Seal(ReadOnlySpan<byte> secret, PublicKey recipient)
    {
        using var ephemeral = Key.Create(KeyAgreementAlgorithm.X25519);
        byte[] header = [.. Magic, .. ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey), .. recipient.Export(KeyBlobFormat.RawPublicKey)];
        using var key = Derive(ephemeral, recipient, header);
        byte[] ciphertext = Aead.Encrypt(key, new byte[Aead.NonceSize], header, secret);
        return [.. header.AsSpan(0, Magic.Length + PublicKeySize), .. ciphertext];
    }

    /// <summary>Opens a sealed secret with this host's key; null when it was sealed to another key or altered.</summary>
    public static byte[]? Open(ReadOnlySpan<byte> sealedSecret, Key recipient)
    {
        int prefix = Magic.Length + PublicKeySize;
        if (sealedSecret.Length < prefix + Aead.TagSize || !sealedSecret.StartsWith(Magic))
            throw new WorkspacesException(500, "Damaged key", "a sealed image key is damaged (bad magic or length)");
        byte[] header = [.. sealedSecret[..prefix], .. recipient.PublicKey.Export(KeyBlobFormat.RawPublicKey)];
        var sender = PublicKey.Import(KeyAgreementAlgorithm.X25519, sealedSecret.Slice(Magic.Length, PublicKeySize), KeyBlobFormat.RawPublicKey);
        using var key = Derive(recipient, sender, header);
        return Aead.Decrypt(key, new byte[Aead.NonceSize], header, sealedSecret[prefix..]);
    }

    /// <summary>HKDF over the X25519 shared secret, salted with both public keys so the key is bound to this pair.</summary>
    private static Key Derive(Key own, PublicKey other, byte[] header)
    {
        using var shared = KeyAgreementAlgorithm.X25519.Agree(own, other)
            ?? throw WorkspacesException.BadRequest("the X25519 key agreement failed (a low-order public key)");
        return KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, header.AsSpan(Magic.Length), Info, Aead);
    }
}
