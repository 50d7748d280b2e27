using System.Text;
using NSec.Cryptography;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// Format 1, kept only to read keys sealed before format 2: ECIES composed by hand (an ephemeral
/// X25519 key, HKDF-SHA256 over the shared secret salted with both public keys, ChaCha20-Poly1305
/// with a zero nonce, safe because the derived key is used once). Layout: magic "wsseal1\0" |
/// ephemeral public key (32) | ciphertext+tag. Nothing writes it any more; do not change it.
/// </summary>
public static partial class KeySeal
{
    private static readonly byte[] MagicV1 = "wsseal1\0"u8.ToArray();
    private static readonly byte[] InfoV1 = Encoding.ASCII.GetBytes("workspaces image key seal v1");
    private static readonly AeadAlgorithm AeadV1 = AeadAlgorithm.ChaCha20Poly1305;
    private const int PublicKeySizeV1 = 32;

    private static byte[]? OpenV1(ReadOnlySpan<byte> sealedSecret, Key recipient)
    {
        int prefix = MagicLength + PublicKeySizeV1;
        if (sealedSecret.Length < prefix + AeadV1.TagSize) throw Damaged();
        // The HKDF salt and the AEAD's associated data: magic | ephemeral public key | recipient public key.
        byte[] header = [.. sealedSecret[..prefix], .. recipient.PublicKey.Export(KeyBlobFormat.RawPublicKey)];
        var sender = PublicKey.Import(KeyAgreementAlgorithm.X25519, sealedSecret.Slice(MagicLength, PublicKeySizeV1), KeyBlobFormat.RawPublicKey);
        using var shared = KeyAgreementAlgorithm.X25519.Agree(recipient, sender);
        if (shared is null) return null; // a low-order ephemeral key: not something our Seal ever wrote
        using var key = KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, header.AsSpan(MagicLength), InfoV1, AeadV1);
        return AeadV1.Decrypt(key, new byte[AeadV1.NonceSize], header, sealedSecret[prefix..]);
    }
}
