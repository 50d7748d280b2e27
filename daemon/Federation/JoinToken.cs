using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// A single-use invitation to become this host's peer (after Incus's trust tokens): base64 of JSON
/// naming the host, where to reach it, its TLS fingerprint (the joiner pins it before it sends
/// anything), a random secret and the expiry. The inviting host keeps only the secret's hash.
/// </summary>
public sealed record JoinToken(string Name, string[] Addresses, string Fingerprint, string Secret, long ExpiresAt)
{
    public static JoinToken New(string name, string[] addresses, string fingerprint, DateTimeOffset expires) =>
        new(name, addresses, fingerprint, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), expires.ToUnixTimeSeconds());

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public string Encode()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("name", Name);
            w.WriteStartArray("addresses");
            foreach (var a in Addresses) w.WriteStringValue(a);
            w.WriteEndArray();
            w.WriteString("fingerprint", Fingerprint);
            w.WriteString("secret", Secret);
            w.WriteNumber("expiresAt", ExpiresAt);
            w.WriteEndObject();
        }
        return Convert.ToBase64String(buffer.ToArray());
    }

    public static JoinToken Decode(string text)
    {
        const int MaxToken = 8192;
        try
        {
            if (text.Length > MaxToken) throw new FormatException($"longer than {MaxToken} characters");
            using var doc = JsonDocument.Parse(Convert.FromBase64String(text.Trim()));
            var r = doc.RootElement;
            var token = new JoinToken(
                r.GetProperty("name").GetString()!,
                r.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()!).ToArray(),
                r.GetProperty("fingerprint").GetString()!,
                r.GetProperty("secret").GetString()!,
                r.GetProperty("expiresAt").GetInt64());
            if (token.Addresses.Length == 0) throw new FormatException("it names no address");
            return token;
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw WorkspacesException.BadRequest($"that is not a peer join token (as `ws peer token` prints it): {e.Message}");
        }
    }
}
