using System.Text;
using NSec.Cryptography;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// The host's two key pairs, made on first start: Ed25519 to sign manifests, X25519 to seal image
/// keys. The private keys live in {state}/keys as PKIX PEM files (openssl reads them), mode 0600 in
/// a 0700 directory, written to a temporary name and renamed so a crash never leaves half a key.
/// </summary>
public sealed class HostIdentity : IDisposable
{
    private static KeyCreationParameters Exportable => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    public HostIdentity(string stateDir)
    {
        string dir = Path.Combine(stateDir, "keys");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        SigningKey = LoadOrCreate(Path.Combine(dir, "signing.pem"), SignatureAlgorithm.Ed25519);
        SealingKey = LoadOrCreate(Path.Combine(dir, "sealing.pem"), KeyAgreementAlgorithm.X25519);
        SigningPublicKey = KeyText.Format(SigningKey.PublicKey);
        SealingPublicKey = KeyText.Format(SealingKey.PublicKey);
    }

    public Key SigningKey { get; }
    public Key SealingKey { get; }

    /// <summary>"ed25519:BASE64": this host as a signer.</summary>
    public string SigningPublicKey { get; }

    /// <summary>"x25519:BASE64": what image keys are sealed to for this host.</summary>
    public string SealingPublicKey { get; }

    public byte[] Sign(ReadOnlySpan<byte> data) => SignatureAlgorithm.Ed25519.Sign(SigningKey, data);

    private static Key LoadOrCreate(string path, Algorithm algorithm)
    {
        if (File.Exists(path))
            return Key.Import(algorithm, File.ReadAllBytes(path), KeyBlobFormat.PkixPrivateKeyText, Exportable);

        var key = Key.Create(algorithm, Exportable);
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, new FileStreamOptions
               {
                   Mode = FileMode.Create,
                   Access = FileAccess.Write,
                   UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
               }))
        {
            file.Write(key.Export(KeyBlobFormat.PkixPrivateKeyText));
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: false);
        return key;
    }

    /// <summary>Reads a PEM Ed25519 private key (as `openssl genpkey -algorithm ed25519` writes) for one signature.</summary>
    public static Key ImportSigningKey(string pem)
    {
        try
        {
            return Key.Import(SignatureAlgorithm.Ed25519, Encoding.ASCII.GetBytes(pem.Trim()), KeyBlobFormat.PkixPrivateKeyText);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw Errors.WorkspacesException.BadRequest($"the signing key is not a PEM Ed25519 private key: {e.Message}");
        }
    }

    public void Dispose()
    {
        SigningKey.Dispose();
        SealingKey.Dispose();
    }
}
