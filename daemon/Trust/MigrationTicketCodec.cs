using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NSec.Cryptography;

namespace Workspaces.Daemon.Trust;

/// <summary>
/// A migration ticket's canonical JSON and its Ed25519 signature. Canonical form: one object, members
/// in ordinal order, no whitespace, strings as System.Text.Json escapes them, "version": 1. The signed
/// document is the canonical form with "signature" added last. A verifier re-derives the canonical
/// bytes from the parsed members, so any reordering, unknown or missing member, or altered value fails
/// (the same discipline as IdentityDocument). The ticket's hash (SHA-256 of the canonical bytes, hex)
/// is what both hosts record with the outcome and what replays are refused by.
/// </summary>
public static class MigrationTicketCodec
{
    public const int Version = 1;

    private static readonly string[] Members =
    [
        "copy_as", "cpu_model", "destination_key", "egress", "expires_at", "image_chain", "image_manifest", "image_signatures", "issued_at",
        "limits", "mac", "machine_type", "memory_mib", "mode", "name", "network", "nonce", "owner", "rate_kbit", "sealed_disk_key",
        "source_key", "vcpus", "version", "workspace_id",
    ];

    public static byte[] Canonical(MigrationTicket t)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            WriteMembers(json, t);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static string Hash(MigrationTicket t) => Convert.ToHexStringLower(SHA256.HashData(Canonical(t)));

    /// <summary>A fresh nonce: 128 random bits, hex.</summary>
    public static string NewNonce() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static string Sign(MigrationTicket ticket, HostIdentity host)
    {
        if (ticket.SourceKey != host.SigningPublicKey)
            throw new InvalidOperationException("a ticket is signed by the host it names as its source");
        byte[] signature = host.Sign(Canonical(ticket));
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            WriteMembers(json, ticket);
            json.WriteString("signature", Convert.ToBase64String(signature));
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Reads a signed ticket and checks its signature against the source key it names. It says nothing
    /// about whether that key is trusted: TicketAdmission decides that. Throws MigrationTicketException.
    /// </summary>
    public static MigrationTicket Open(string document)
    {
        MigrationTicket ticket;
        byte[] signature;
        try
        {
            (ticket, signature) = Parse(document);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new MigrationTicketException($"not a migration ticket: {e.Message}");
        }
        PublicKey key;
        try
        {
            key = KeyText.ParseSigning(ticket.SourceKey);
        }
        catch (Errors.WorkspacesException e)
        {
            throw new MigrationTicketException($"the ticket's source key is unreadable: {e.Message}");
        }
        if (!SignatureAlgorithm.Ed25519.Verify(key, Canonical(ticket), signature))
            throw new MigrationTicketException("the ticket's signature does not match its content under its source key: it was altered or signed by another host");
        return ticket;
    }

    private static void WriteMembers(Utf8JsonWriter json, MigrationTicket t)
    {
        json.WriteString("copy_as", t.CopyAs);
        json.WriteString("cpu_model", t.CpuModel);
        json.WriteString("destination_key", t.DestinationKey);
        json.WriteString("egress", t.Egress);
        json.WriteNumber("expires_at", t.ExpiresAt);
        json.WriteStartArray("image_chain");
        foreach (string id in t.ImageChain) json.WriteStringValue(id);
        json.WriteEndArray();
        json.WriteString("image_manifest", t.ImageManifest);
        json.WriteStartArray("image_signatures");
        foreach (var s in t.ImageSignatures)
        {
            json.WriteStartObject();
            json.WriteString("signature", s.Signature);
            json.WriteString("signer", s.Signer);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteNumber("issued_at", t.IssuedAt);
        json.WriteString("limits", t.Limits);
        json.WriteString("mac", t.Mac);
        json.WriteString("machine_type", t.MachineType);
        json.WriteNumber("memory_mib", t.MemoryMib);
        json.WriteString("mode", t.Mode);
        json.WriteString("name", t.Name);
        json.WriteString("network", t.Network);
        json.WriteString("nonce", t.Nonce);
        json.WriteNumber("owner", t.Owner);
        if (t.RateKbit is { } rate) json.WriteNumber("rate_kbit", rate);
        else json.WriteNull("rate_kbit");
        json.WriteString("sealed_disk_key", t.SealedDiskKey);
        json.WriteString("source_key", t.SourceKey);
        json.WriteNumber("vcpus", t.Vcpus);
        json.WriteNumber("version", Version);
        json.WriteString("workspace_id", t.WorkspaceId);
    }

    private static (MigrationTicket, byte[]) Parse(string document)
    {
        using var doc = JsonDocument.Parse(document);
        var r = doc.RootElement;
        if (r.ValueKind != JsonValueKind.Object) throw new FormatException("the ticket is not a JSON object");
        var names = r.EnumerateObject().Select(p => p.Name).ToList();
        var expected = Members.Append("signature").Order(StringComparer.Ordinal).ToList();
        if (names.Count != expected.Count || !names.Order(StringComparer.Ordinal).SequenceEqual(expected))
            throw new FormatException($"its members are {string.Join(", ", names)}; a ticket has exactly {string.Join(", ", expected)}");
        if (r.GetProperty("version").GetInt32() != Version)
            throw new FormatException($"version {r.GetProperty("version")} is not one this host reads ({Version})");
        string S(string name) => r.GetProperty(name).GetString() ?? throw new FormatException($"{name} is null");
        var ticket = new MigrationTicket(
            WorkspaceId: S("workspace_id"), Name: S("name"), Owner: r.GetProperty("owner").GetUInt32(),
            Vcpus: r.GetProperty("vcpus").GetInt32(), MemoryMib: r.GetProperty("memory_mib").GetInt32(), Limits: S("limits"),
            CpuModel: S("cpu_model"), MachineType: S("machine_type"), Mode: S("mode"),
            ImageChain: r.GetProperty("image_chain").EnumerateArray().Select(e => e.GetString() ?? throw new FormatException("an image id is null")).ToArray(),
            ImageManifest: S("image_manifest"),
            ImageSignatures: r.GetProperty("image_signatures").EnumerateArray()
                .Select(e => new MigrationTicketSignature(e.GetProperty("signer").GetString()!, e.GetProperty("signature").GetString()!)).ToArray(),
            Mac: S("mac"), Network: S("network"), SourceKey: S("source_key"), DestinationKey: S("destination_key"),
            SealedDiskKey: r.GetProperty("sealed_disk_key").GetString(), Nonce: S("nonce"),
            IssuedAt: r.GetProperty("issued_at").GetInt64(), ExpiresAt: r.GetProperty("expires_at").GetInt64(),
            CopyAs: r.GetProperty("copy_as").GetString(), Egress: r.GetProperty("egress").GetString(),
            RateKbit: r.GetProperty("rate_kbit").ValueKind == JsonValueKind.Null ? null : r.GetProperty("rate_kbit").GetInt32());
        byte[] signature = Convert.FromBase64String(S("signature"));
        // Base64 has spare bits in its last character; only the canonical spelling is accepted, so no byte of it is free.
        if (Convert.ToBase64String(signature) != S("signature")) throw new FormatException("the signature is not canonical base64");
        return (ticket, signature);
    }
}
