using System.Text;
using System.Text.Json;
using NSec.Cryptography;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// The playground identity document as canonical JSON, the same discipline as the workspace identity
/// document and migration tickets: objects with members in ordinal order, no whitespace, strings as
/// System.Text.Json escapes them, "version": 1. A member's signature is over its canonical object
/// without "signature"; the playground's is over the whole canonical document without its own
/// "signature" (member signatures included). A reader re-derives the canonical text from what it
/// parsed and refuses any other spelling, so no byte of a document is free: a changed byte either
/// breaks the form or breaks a signature, and the check names which.
/// </summary>
public static class PlaygroundIdentityCodec
{
    public const int Version = 1;

    public static byte[] CanonicalMember(PlaygroundIdentityMember m) => Write(json => WriteMember(json, m, signed: false));

    public static byte[] Canonical(PlaygroundIdentity p) => Write(json => WriteDocument(json, p, signed: false));

    /// <summary>The member signed by its host (the host that runs it signs it, applying host or peer).</summary>
    public static PlaygroundIdentityMember SignMember(PlaygroundIdentityMember member, HostIdentity host)
    {
        if (member.HostKey != host.SigningPublicKey) throw new InvalidOperationException("a member is signed by the host it names");
        return member with { Signature = Convert.ToBase64String(host.Sign(CanonicalMember(member))) };
    }

    /// <summary>The whole document signed by the host that applied the playground; its text is what verifies.</summary>
    public static string Sign(PlaygroundIdentity identity, HostIdentity host)
    {
        if (identity.HostKey != host.SigningPublicKey) throw new InvalidOperationException("a playground is signed by the host it names");
        var signed = identity with { Signature = Convert.ToBase64String(host.Sign(Canonical(identity))) };
        return Encoding.UTF8.GetString(Write(json => WriteDocument(json, signed, signed: true)));
    }

    /// <summary>
    /// Checks a document: its form, that every signer is the host it names with the key pinned for that
    /// name (pinnedKeys: host name to signing key, this host's and each known peer's), every member's
    /// signature and the playground's. Every problem is reported, naming the member or the playground it is about.
    /// </summary>
    public static PlaygroundIdentityCheck Verify(string document, IReadOnlyDictionary<string, string> pinnedKeys)
    {
        PlaygroundIdentity identity;
        try
        {
            identity = Parse(document);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            return new PlaygroundIdentityCheck(false, [$"not a playground identity document: {e.Message}"], null);
        }
        var problems = new List<string>();
        foreach (var member in identity.Members)
        {
            string who = $"member {member.Name} (host {member.Host})";
            if (member.Playground != identity.Name)
                problems.Add($"{who} is signed as a member of playground {member.Playground}, not {identity.Name}");
            problems.AddRange(Check(who, member.Host, member.HostKey, CanonicalMember(member), member.Signature, pinnedKeys));
        }
        problems.AddRange(Check($"the playground {identity.Name} (applied by host {identity.HostName})", identity.HostName, identity.HostKey, Canonical(identity), identity.Signature, pinnedKeys));
        return new PlaygroundIdentityCheck(problems.Count == 0, problems, identity);
    }

    /// <summary>Whether a member's signature holds under the key it names (who that key belongs to is the caller's check).</summary>
    public static bool MemberSignatureHolds(PlaygroundIdentityMember member)
    {
        try
        {
            return SignatureAlgorithm.Ed25519.Verify(KeyText.ParseSigning(member.HostKey), CanonicalMember(member), Convert.FromBase64String(member.Signature));
        }
        catch (Exception e) when (e is Errors.WorkspacesException or FormatException)
        {
            return false;
        }
    }

    private static IEnumerable<string> Check(string who, string hostName, string keyText, byte[] content, string signature, IReadOnlyDictionary<string, string> pinnedKeys)
    {
        PublicKey key;
        try
        {
            key = KeyText.ParseSigning(keyText);
        }
        catch (Errors.WorkspacesException e)
        {
            return [$"{who}: its host key is unreadable: {e.Message}"];
        }
        var problems = new List<string>();
        string text = KeyText.Format(key);
        if (!pinnedKeys.TryGetValue(hostName, out string? pinned))
            problems.Add($"{who}: host {hostName} is neither this host nor a known peer (signed by host key {keyText}, {KeyText.Fingerprint(keyText)})");
        else if (pinned != text)
            problems.Add($"{who}: signed by host key {KeyText.Fingerprint(keyText)}, but the key pinned for host {hostName} is {KeyText.Fingerprint(pinned)}");
        if (!SignatureAlgorithm.Ed25519.Verify(key, content, Convert.FromBase64String(signature)))
            problems.Add($"{who}: the signature does not match its content under host key {KeyText.Fingerprint(keyText)}: it was altered or signed by another host");
        return problems;
    }

    private static PlaygroundIdentity Parse(string document)
    {
        string text = document.TrimEnd('\n');
        using var doc = JsonDocument.Parse(text);
        var r = doc.RootElement;
        if (r.ValueKind != JsonValueKind.Object) throw new FormatException("the document is not a JSON object");
        if (r.GetProperty("version").GetInt32() != Version)
            throw new FormatException($"version {r.GetProperty("version")} is not one this host reads ({Version})");
        static string S(JsonElement e, string name) => e.GetProperty(name).GetString() ?? throw new FormatException($"{name} is null");
        var members = r.GetProperty("members").EnumerateArray().Select(m => new PlaygroundIdentityMember(
            S(m, "playground"), S(m, "name"), S(m, "role"), m.GetProperty("index").GetInt32(), S(m, "host"), S(m, "host_key"),
            S(m, "mac"), S(m, "address"), S(m, "signature"))).ToList();
        var identity = new PlaygroundIdentity(S(r, "name"), S(r, "subnet"), S(r, "issued_at"), S(r, "host_name"), S(r, "host_key"), members, S(r, "signature"));
        // Only the canonical spelling is accepted: any other member, order, spacing or base64 spelling is refused here.
        string canonical = Encoding.UTF8.GetString(Write(json => WriteDocument(json, identity, signed: true)));
        if (canonical != text)
            throw new FormatException($"it is not in canonical form (first difference at character {FirstDifference(canonical, text)}): it was altered, or has members an identity document does not have");
        foreach (string signature in members.Select(m => m.Signature).Append(identity.Signature))
            if (Convert.ToBase64String(Convert.FromBase64String(signature)) != signature) throw new FormatException("a signature is not canonical base64");
        return identity;
    }

    private static int FirstDifference(string a, string b)
    {
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        return i;
    }

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer)) write(json);
        return buffer.ToArray();
    }

    private static void WriteDocument(Utf8JsonWriter json, PlaygroundIdentity p, bool signed)
    {
        json.WriteStartObject();
        json.WriteString("host_key", p.HostKey);
        json.WriteString("host_name", p.HostName);
        json.WriteString("issued_at", p.IssuedAt);
        json.WriteStartArray("members");
        foreach (var m in p.Members) WriteMember(json, m, signed: true);
        json.WriteEndArray();
        json.WriteString("name", p.Name);
        if (signed) json.WriteString("signature", p.Signature);
        json.WriteString("subnet", p.Subnet);
        json.WriteNumber("version", Version);
        json.WriteEndObject();
    }

    private static void WriteMember(Utf8JsonWriter json, PlaygroundIdentityMember m, bool signed)
    {
        json.WriteStartObject();
        json.WriteString("address", m.Address);
        json.WriteString("host", m.Host);
        json.WriteString("host_key", m.HostKey);
        json.WriteNumber("index", m.Index);
        json.WriteString("mac", m.Mac);
        json.WriteString("name", m.Name);
        json.WriteString("playground", m.Playground);
        json.WriteString("role", m.Role);
        if (signed) json.WriteString("signature", m.Signature);
        json.WriteEndObject();
    }
}
