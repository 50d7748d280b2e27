using System.Runtime.InteropServices;

namespace Workspaces.Native;

/// <summary>
/// libsodium's sealed box (crypto_box_seal): anonymous public-key encryption to an X25519 key, a
/// reviewed construction (an ephemeral key pair, XSalsa20-Poly1305 keyed by X25519, the nonce a
/// BLAKE2b hash of both public keys) rather than one composed by hand.
/// </summary>
public static partial class Sodium
{
    /// <summary>crypto_box_SEALBYTES: the ephemeral public key (32) and the Poly1305 tag (16).</summary>
    public const int SealBytes = 48;
    public const int PublicKeyBytes = 32;
    public const int SecretKeyBytes = 32;

    private static volatile bool s_initialized;

    [LibraryImport(Libraries.Sodium, EntryPoint = "sodium_init")]
    private static partial int Init();

    [LibraryImport(Libraries.Sodium, EntryPoint = "crypto_box_sealbytes")]
    private static partial nuint BoxSealBytes();

    [LibraryImport(Libraries.Sodium, EntryPoint = "crypto_box_publickeybytes")]
    private static partial nuint BoxPublicKeyBytes();

    [LibraryImport(Libraries.Sodium, EntryPoint = "crypto_box_secretkeybytes")]
    private static partial nuint BoxSecretKeyBytes();

    // Spans are pinned by the generated marshaller for the length of the call; the lengths libsodium
    // reads through these pointers are checked against the spans in the public methods below.
    [LibraryImport(Libraries.Sodium, EntryPoint = "crypto_box_seal")]
    private static partial int BoxSeal(Span<byte> box, ReadOnlySpan<byte> message, ulong messageLength, ReadOnlySpan<byte> publicKey);

    [LibraryImport(Libraries.Sodium, EntryPoint = "crypto_box_seal_open")]
    private static partial int BoxSealOpen(Span<byte> message, ReadOnlySpan<byte> box, ulong boxLength, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> secretKey);

    /// <summary>
    /// crypto_box_seal: box must be exactly message.Length + SealBytes long. False when libsodium
    /// refuses the recipient's key (a low-order point gives an all-zero shared secret).
    /// </summary>
    public static bool Seal(ReadOnlySpan<byte> message, ReadOnlySpan<byte> recipientPublicKey, Span<byte> box)
    {
        EnsureInitialized();
        if (recipientPublicKey.Length != PublicKeyBytes) throw new ArgumentException($"an X25519 public key is {PublicKeyBytes} bytes", nameof(recipientPublicKey));
        if (box.Length != message.Length + SealBytes) throw new ArgumentException("the box must be the message's length plus SealBytes", nameof(box));
        return BoxSeal(box, message, (ulong)message.Length, recipientPublicKey) == 0;
    }

    /// <summary>
    /// crypto_box_seal_open: message must be exactly box.Length - SealBytes long. False when the box
    /// was sealed to another key or altered (libsodium checks the tag before it writes any plaintext).
    /// </summary>
    public static bool OpenSealed(ReadOnlySpan<byte> box, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> secretKey, Span<byte> message)
    {
        EnsureInitialized();
        if (publicKey.Length != PublicKeyBytes) throw new ArgumentException($"an X25519 public key is {PublicKeyBytes} bytes", nameof(publicKey));
        if (secretKey.Length != SecretKeyBytes) throw new ArgumentException($"an X25519 secret key is {SecretKeyBytes} bytes", nameof(secretKey));
        if (box.Length < SealBytes || message.Length != box.Length - SealBytes)
            throw new ArgumentException("the message must be the box's length minus SealBytes", nameof(message));
        return BoxSealOpen(message, box, (ulong)box.Length, publicKey, secretKey) == 0;
    }

    /// <summary>
    /// sodium_init picks the fastest implementations and seeds the generator; it is idempotent and
    /// thread-safe (NSec calls it too), so a race here only calls it twice. The sizes are checked
    /// once because the bounds checks above rely on them.
    /// </summary>
    private static void EnsureInitialized()
    {
        if (s_initialized) return;
        if (Init() < 0) throw new InvalidOperationException("sodium_init failed");
        if (BoxSealBytes() != SealBytes || BoxPublicKeyBytes() != PublicKeyBytes || BoxSecretKeyBytes() != SecretKeyBytes)
            throw new InvalidOperationException("this libsodium's crypto_box sizes differ from the ones this build expects");
        s_initialized = true;
    }
}
