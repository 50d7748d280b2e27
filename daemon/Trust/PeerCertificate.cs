using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using NSec.Cryptography;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// The host's TLS identity on the peer listener: a self-signed ECDSA P-256 certificate made at first
/// start ({state}/keys/peer-tls.pem, key and certificate; .NET cannot do TLS with Ed25519), tied to
/// the host's Ed25519 signing key by a signature over its fingerprint. A peer pins the fingerprint;
/// the binding tells it which signing key speaks for that certificate.
/// </summary>
public sealed class PeerCertificate : IDisposable
{
    private const string BindingContext = "workspaces-tls-binding/1\n";

    public PeerCertificate(string stateDir, HostIdentity host)
    {
        string path = Path.Combine(stateDir, "keys", "peer-tls.pem");
        if (!File.Exists(path)) Create(path);
        using var loaded = X509Certificate2.CreateFromPemFile(path);
        // Exported and read back: an ephemeral key cannot be used by the TLS stack on every platform.
        Certificate = X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
        Fingerprint = FingerprintOf(Certificate);
        Binding = Convert.ToBase64String(host.Sign(BindingBytes(Fingerprint)));
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>"SHA256:" and the lowercase hex of the certificate's DER, as peers pin it.</summary>
    public string Fingerprint { get; }

    /// <summary>The host's Ed25519 signature (base64) over this certificate's fingerprint.</summary>
    public string Binding { get; }

    public static string FingerprintOf(X509Certificate certificate) =>
        "SHA256:" + Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));

    /// <summary>Whether a peer's signing key vouches for the certificate it presented.</summary>
    public static bool BindingHolds(string fingerprint, string signingKey, string binding)
    {
        try
        {
            return SignatureAlgorithm.Ed25519.Verify(KeyText.ParseSigning(signingKey), BindingBytes(fingerprint), Convert.FromBase64String(binding));
        }
        catch (Exception e) when (e is FormatException or Errors.WorkspacesException)
        {
            return false;
        }
    }

    /// <summary>Accepts "SHA256:hex", bare hex, or hex with colons (as openssl prints it); null if none of these.</summary>
    public static string? NormalizeFingerprint(string text)
    {
        string hex = text.Trim();
        if (hex.StartsWith("SHA256:", StringComparison.OrdinalIgnoreCase)) hex = hex[7..];
        hex = hex.Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigitLower) ? "SHA256:" + hex : null;
    }

    private static byte[] BindingBytes(string fingerprint) => Encoding.UTF8.GetBytes(BindingContext + fingerprint);

    private static void Create(string path)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=workspacesd {Environment.MachineName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(20));
        string pem = key.ExportPkcs8PrivateKeyPem() + "\n" + certificate.ExportCertificatePem() + "\n";
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, new FileStreamOptions
               {
                   Mode = FileMode.Create,
                   Access = FileAccess.Write,
                   UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
               }))
        {
            file.Write(Encoding.ASCII.GetBytes(pem));
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: false);
    }

    public void Dispose() => Certificate.Dispose();
}
