using System.Security.Cryptography;
using NSec.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Native;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// Seals a secret to an X25519 public key so only the holder of its private key can open it.
/// Seal writes format 2: magic "wsseal2\0" | libsodium sealed box (ephemeral public key 32 |
/// ciphertext | tag 16), a reviewed construction instead of one composed here. Open also reads
/// format 1 (KeySeal.V1.cs), so keys sealed before the change keep opening.
/// </summary>
public static partial class KeySeal
{
    private static readonly byte[] MagicV2 = "wsseal2\0"u8.ToArray();
    private const int MagicLength = 8;

    public static byte[] Seal(ReadOnlySpan<byte> secret, PublicKey recipient)
    {
        byte[] sealedSecret = new byte[MagicLength + Sodium.SealBytes + secret.Length];
        MagicV2.CopyTo(sealedSecret, 0);
        if (!Sodium.Seal(secret, recipient.Export(KeyBlobFormat.RawPublicKey), sealedSecret.AsSpan(MagicLength)))
            throw WorkspacesException.BadRequest("libsodium refused to seal to this X25519 key (a low-order public key)");
        return sealedSecret;
    }

    /// <summary>Opens a sealed secret with this host's key; null when it was sealed to another key or altered.</summary>
    public static byte[]? Open(ReadOnlySpan<byte> sealedSecret, Key recipient)
    {
        if (sealedSecret.StartsWith(MagicV2)) return OpenV2(sealedSecret[MagicLength..], recipient);
        if (sealedSecret.StartsWith(MagicV1)) return OpenV1(sealedSecret, recipient);
        throw Damaged();
    }

    private static byte[]? OpenV2(ReadOnlySpan<byte> box, Key recipient)
    {
        if (box.Length < Sodium.SealBytes) throw Damaged();
        if ((recipient.ExportPolicy & KeyExportPolicies.AllowPlaintextExport) == 0)
            throw new WorkspacesException(500, "Key not usable", "the host's sealing key must be exportable to open a sealed box");

        // crypto_box_seal_open takes the raw private key, which NSec keeps in its own secure memory:
        // copy it onto the stack (never moved by the GC, unlike an array) only for the one call, then wipe it.
        Span<byte> privateKey = stackalloc byte[Sodium.SecretKeyBytes];
        try
        {
            if (!recipient.TryExport(KeyBlobFormat.RawPrivateKey, privateKey, out int written) || written != Sodium.SecretKeyBytes)
                throw new WorkspacesException(500, "Key not usable", "the host's sealing key is not a raw 32-byte X25519 key");
            byte[] secret = new byte[box.Length - Sodium.SealBytes];
            return Sodium.OpenSealed(box, recipient.PublicKey.Export(KeyBlobFormat.RawPublicKey), privateKey, secret) ? secret : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    private static WorkspacesException Damaged() =>
        new(500, "Damaged key", "a sealed image key is damaged (bad magic or length)");
}
