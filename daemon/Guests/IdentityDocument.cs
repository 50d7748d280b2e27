using System.Text;
using System.Text.Json;
using NSec.Cryptography;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// A workspace's identity document: its claims as canonical JSON, signed by the host's Ed25519 key.
/// Canonical form: one JSON object, members in the order of Members (alphabetical), no whitespace,
/// strings as System.Text.Json escapes them, the owner as a number, with "version": 1. The document
/// is the canonical form with "signature" (base64 of the Ed25519 signature over the canonical bytes)
/// added last. A verifier re-derives the canonical bytes from the parsed members, so whitespace or
/// order changes, unknown or missing members, and any altered value all fail.
/// </summary>
public static class IdentityDocument
{
    public const int Version = 1;
    private static readonly string[] Members =
        ["host_key", "host_name", "image", "issued_at", "name", "owner", "version", "workspace_id", "workspace_key"];

    public static byte[] Canonical(IdentityClaims c)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            WriteClaims(json, c);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static string Sign(IdentityClaims claims, HostIdentity host)
    {
        byte[] signature = host.Sign(Canonical(claims));
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            WriteClaims(json, claims);
            json.WriteString("signature", Convert.ToBase64String(signature));
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteClaims(Utf8JsonWriter json, IdentityClaims c)
    {
        json.WriteString("host_key", c.HostKey);
        json.WriteString("host_name", c.HostName);
        json.WriteString("image", c.Image);
        json.WriteString("issued_at", c.IssuedAt);
        json.WriteString("name", c.Name);
        json.WriteNumber("owner", c.Owner);
        json.WriteNumber("version", Version);
        json.WriteString("workspace_id", c.WorkspaceId);
        json.WriteString("workspace_key", c.WorkspaceKey);
    }

    /// <summary>
    /// Checks a document against a host's signing key ("ed25519:..." or PEM). The answer says what
    /// failed, in words a person can act on; Claims is set whenever the document could be read.
    /// </summary>
    public static IdentityCheck Verify(string document, string hostKey)
    {
        IdentityClaims claims;
        byte[] signature;
        try
        {
            (claims, signature) = Parse(document);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            return new IdentityCheck(false, [$"not an identity document: {e.Message}"], null);
        }
        var problems = new List<string>();
        PublicKey key;
        try
        {
            key = KeyText.ParseSigning(hostKey);
        }
        catch (Errors.WorkspacesException e)
        {
            return new IdentityCheck(false, [e.Message], claims);
        }
        if (KeyText.Format(key) != claims.HostKey)
            problems.Add($"the document names host key {claims.HostKey}, not the key it is checked against ({KeyText.Format(key)})");
        if (!SignatureAlgorithm.Ed25519.Verify(key, Canonical(claims), signature))
            problems.Add("the signature does not match the document's content under this host key: the document was altered or signed by another host");
        return new IdentityCheck(problems.Count == 0, problems, claims);
    }

    private static (IdentityClaims, byte[]) Parse(string document)
    {
        using var doc = JsonDocument.Parse(document);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException("the document is not a JSON object");
        var names = root.EnumerateObject().Select(p => p.Name).ToList();
        var expected = Members.Append("signature").Order(StringComparer.Ordinal).ToList();
        if (!names.Order(StringComparer.Ordinal).SequenceEqual(expected) || names.Count != expected.Count)
            throw new FormatException($"its members are {string.Join(", ", names)}; an identity document has exactly {string.Join(", ", expected)}");
        if (root.GetProperty("version").GetInt32() != Version)
            throw new FormatException($"version {root.GetProperty("version")} is not one this host reads ({Version})");
        string S(string name) => root.GetProperty(name).GetString() ?? throw new FormatException($"{name} is null");
        var claims = new IdentityClaims(S("workspace_id"), S("name"), root.GetProperty("owner").GetUInt32(), S("image"),
            S("host_name"), S("host_key"), S("issued_at"), S("workspace_key"));
        byte[] signature = Convert.FromBase64String(S("signature"));
        // Base64 has spare bits in its last character; only the canonical spelling is accepted, so no byte of it is free.
        if (Convert.ToBase64String(signature) != S("signature")) throw new FormatException("the signature is not canonical base64");
        return (claims, signature);
    }
}
