using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// A playground's shared SSH key pair (Ed25519), so members reach each other: the public key in
/// OpenSSH's one-line form (authorized_keys) and the private key in OpenSSH's own file format
/// ("openssh-key-v1", unencrypted), which ssh and dropbear's converter read.
/// </summary>
public sealed record ClusterKeyPair(string PublicKey, string PrivateKey)
{
    private const string KeyType = "ssh-ed25519";

    public static ClusterKeyPair Create(string comment)
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        byte[] seed = key.Export(KeyBlobFormat.RawPrivateKey);
        byte[] pub = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        try
        {
            byte[] publicBlob = Concat(Str(KeyType), Str(pub));
            uint check = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
            var section = new List<byte>();
            section.AddRange(U32(check));
            section.AddRange(U32(check));
            section.AddRange(Str(KeyType));
            section.AddRange(Str(pub));
            section.AddRange(Str(Concat(seed, pub))); // OpenSSH keeps the seed and the public key together
            section.AddRange(Str(Encoding.UTF8.GetBytes(comment)));
            for (byte pad = 1; section.Count % 8 != 0; pad++) section.Add(pad);
            byte[] file = Concat(Encoding.ASCII.GetBytes("openssh-key-v1\0"), Str("none"), Str("none"), Str([]), U32(1), Str(publicBlob), Str(section.ToArray()));
            string body = Convert.ToBase64String(file);
            var pem = new StringBuilder("-----BEGIN OPENSSH PRIVATE KEY-----\n");
            for (int i = 0; i < body.Length; i += 70) pem.Append(body.AsSpan(i, Math.Min(70, body.Length - i))).Append('\n');
            pem.Append("-----END OPENSSH PRIVATE KEY-----\n");
            CryptographicOperations.ZeroMemory(section.ToArray());
            return new ClusterKeyPair($"{KeyType} {Convert.ToBase64String(publicBlob)} {comment}", pem.ToString());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static byte[] U32(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    private static byte[] U32(int value) => U32((uint)value);

    private static byte[] Str(string text) => Str(Encoding.ASCII.GetBytes(text));

    private static byte[] Str(byte[] data) => Concat(U32(data.Length), data);

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
