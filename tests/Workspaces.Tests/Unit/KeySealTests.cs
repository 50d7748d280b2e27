using System.Text;
using NSec.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Trust;
using Workspaces.Native;

namespace Workspaces.Tests.Unit;

public sealed class KeySealTests
{
    // Made with the format-1 KeySeal (hand-composed X25519 + HKDF-SHA256 + ChaCha20-Poly1305) as it
    // stood at 15983ff, before format 2 existed: a key sealed then must keep opening.
    private const string V1Private = "60WGEnAGPl5Vg3a6+Crl0xfJjV4NlavIgcw0I1xZA14=";
    private const string V1Public = "28doHw8k6QnBgmAp/E9GnDPoMDnyaTM+YuEPNcJ9yXo=";
    private const string V1Secret = "workspaces v1 seal fixture key!!";
    private const string V1Sealed =
        "d3NzZWFsMQC1/WgRBZMC3CGBJpNEUNRP0skha/lkoIH3uB8Y640wD/WzGkKt2BUHnxhkUXb/Xca0mmxd/E+pglaONljA9w9hwKRND4EufbzzCaMc4746bA==";

    // A sealed box made outside this code: Python ctypes calling crypto_box_keypair and
    // crypto_box_seal of Debian's libsodium 1.0.18 (libsodium.so.23), not the copy NSec ships.
    private const string ForeignPrivate = "J9PNMYZVD6JZ+Kn5ID0TuTcj4JZ4qjL+cAu3Zm1eV5I=";
    private const string ForeignPublic = "kzealLeboBiSyjP+0GkxviHatsSWJXnt95M5Z0yevFA=";
    private const string ForeignMessage = "sealed by Debian's libsodium 1.0.18 via ctypes";
    private const string ForeignBox =
        "+BliP+TwWF98yqWYr7g2kZLP++SiFIezWIK46Eed3HlfvoY7GHG96IRrlqp6pfVQ1k+d/LYaQ73ZMPSF2bud3L7K015apnSQmmZuujIvm8098xiMyiPwsNHExF0rdg==";

    private static KeyCreationParameters Exportable => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    private static Key NewKey() => Key.Create(KeyAgreementAlgorithm.X25519, Exportable);

    private static Key ImportKey(string rawPrivate) =>
        Key.Import(KeyAgreementAlgorithm.X25519, Convert.FromBase64String(rawPrivate), KeyBlobFormat.RawPrivateKey, Exportable);

    private static byte[] Raw(PublicKey key) => key.Export(KeyBlobFormat.RawPublicKey);

    [Fact]
    public void A_new_seal_is_format_2_and_round_trips()
    {
        using var mine = NewKey();
        byte[] secret = DiskKeys.NewKey();
        byte[] sealedSecret = KeySeal.Seal(secret, mine.PublicKey);
        Assert.Equal("wsseal2\0"u8.ToArray(), sealedSecret[..8]);
        Assert.Equal(8 + Sodium.SealBytes + secret.Length, sealedSecret.Length);
        Assert.Equal(secret, KeySeal.Open(sealedSecret, mine));
        Assert.NotEqual(sealedSecret, KeySeal.Seal(secret, mine.PublicKey)); // a fresh ephemeral key each time
    }

    [Fact]
    public void A_format_1_seal_made_by_the_old_code_still_opens()
    {
        using var mine = ImportKey(V1Private);
        Assert.Equal(V1Public, Convert.ToBase64String(Raw(mine.PublicKey)));
        byte[] sealedSecret = Convert.FromBase64String(V1Sealed);
        Assert.Equal("wsseal1\0"u8.ToArray(), sealedSecret[..8]);
        Assert.Equal(Encoding.ASCII.GetBytes(V1Secret), KeySeal.Open(sealedSecret, mine));

        using var other = NewKey();
        Assert.Null(KeySeal.Open(sealedSecret, other));
        sealedSecret[^1] ^= 1;
        Assert.Null(KeySeal.Open(sealedSecret, mine)); // altered: the tag fails
    }

    [Fact]
    public void A_seal_for_another_key_does_not_open()
    {
        using var mine = NewKey();
        using var other = NewKey();
        byte[] sealedSecret = KeySeal.Seal(DiskKeys.NewKey(), mine.PublicKey);
        Assert.Null(KeySeal.Open(sealedSecret, other));
    }

    [Theory]
    [InlineData(8)]       // the ephemeral public key
    [InlineData(8 + 31)]
    [InlineData(8 + 32)]  // the ciphertext
    [InlineData(8 + 48 + 31)] // the last byte
    public void A_changed_byte_anywhere_after_the_magic_is_refused(int index)
    {
        using var mine = NewKey();
        byte[] sealedSecret = KeySeal.Seal(DiskKeys.NewKey(), mine.PublicKey);
        Assert.NotNull(KeySeal.Open(sealedSecret, mine));
        sealedSecret[index] ^= 0x40;
        Assert.Null(KeySeal.Open(sealedSecret, mine));
    }

    [Fact]
    public void A_bad_magic_or_a_short_box_is_reported_as_damaged()
    {
        using var mine = NewKey();
        byte[] sealedSecret = KeySeal.Seal(DiskKeys.NewKey(), mine.PublicKey);
        byte[] otherMagic = [.. sealedSecret];
        otherMagic[6] = (byte)'3';
        Assert.Equal("Damaged key", Assert.Throws<WorkspacesException>(() => KeySeal.Open(otherMagic, mine)).Title);
        Assert.Equal("Damaged key", Assert.Throws<WorkspacesException>(() => KeySeal.Open(sealedSecret[..(8 + Sodium.SealBytes - 1)], mine)).Title);
        Assert.Equal(0, KeySeal.Open(KeySeal.Seal([], mine.PublicKey), mine)?.Length); // the shortest valid box holds an empty secret
    }

    [Fact]
    public void Format_2_is_the_standard_sealed_box_both_ways()
    {
        using var mine = NewKey();
        byte[] secret = DiskKeys.NewKey();
        byte[] privateKey = mine.Export(KeyBlobFormat.RawPrivateKey);

        // Ours, opened by crypto_box_seal_open directly.
        byte[] box = KeySeal.Seal(secret, mine.PublicKey)[8..];
        byte[] opened = new byte[box.Length - Sodium.SealBytes];
        Assert.True(Sodium.OpenSealed(box, Raw(mine.PublicKey), privateKey, opened));
        Assert.Equal(secret, opened);

        // crypto_box_seal's, opened by ours.
        byte[] direct = new byte[secret.Length + Sodium.SealBytes];
        Assert.True(Sodium.Seal(secret, Raw(mine.PublicKey), direct));
        Assert.Equal(secret, KeySeal.Open([.. "wsseal2\0"u8, .. direct], mine));
    }

    [Fact]
    public void A_sealed_box_from_another_libsodium_build_opens()
    {
        using var key = ImportKey(ForeignPrivate);
        Assert.Equal(ForeignPublic, Convert.ToBase64String(Raw(key.PublicKey)));
        byte[] opened = KeySeal.Open([.. "wsseal2\0"u8, .. Convert.FromBase64String(ForeignBox)], key)!;
        Assert.Equal(ForeignMessage, Encoding.UTF8.GetString(opened));
    }

    [Fact]
    public void A_low_order_recipient_key_is_refused_when_sealing()
    {
        var zero = PublicKey.Import(KeyAgreementAlgorithm.X25519, new byte[32], KeyBlobFormat.RawPublicKey);
        Assert.Throws<WorkspacesException>(() => KeySeal.Seal(DiskKeys.NewKey(), zero));
    }
}
