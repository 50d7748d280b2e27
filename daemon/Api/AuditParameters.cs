using System.Text.Json;

namespace Workspaces.Daemon.Api;

/// <summary>
/// What of a request goes into its audit record. Bodies may carry user data, private keys, join secrets
/// and tokens, so fields are kept by an allowlist of names known to be harmless; any other field is
/// recorded as present, its value "[redacted]". A field added to the API later is redacted until someone
/// decides it is safe, rather than logged until someone notices it is not.
/// </summary>
public static class AuditParameters
{
    public const string Redacted = "[redacted]";
    private const int MaxValue = 256;

    private static readonly HashSet<string> Safe = new(StringComparer.OrdinalIgnoreCase)
    {
        "name", "image", "vcpus", "memoryMiB", "cpuQuotaPercent", "cpuWeight", "tasksMax", "ioWeight", "acceptOffer",
        "network", "egress", "rateKbit", "subnet", "nat", "isolated", "isolateOwners", "hostPort", "guestPort", "protocol",
        "as", "encrypt", "tags", "to", "signer", "publicKey", "expiresSeconds", "address", "addresses", "fingerprint", "from",
        "force", "timeout", "owner", "release", "follow", "action", "signingKey", "sealingKey", "sha256", "all",
    };

    /// <summary>Route values (they are the URL: names, never secrets, except a relayed path's tail), the query, and the JSON body's top level.</summary>
    public static Dictionary<string, string>? From(HttpContext context, byte[]? jsonBody)
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in context.Request.RouteValues)
            if (value is string text && key != "name") found[key] = Cut(text);
        foreach (var (key, values) in context.Request.Query)
            found["query." + key] = Safe.Contains(key) ? Cut(values.ToString()) : Redacted;
        if (jsonBody is { Length: > 0 }) AddBody(found, jsonBody);
        return found.Count == 0 ? null : new Dictionary<string, string>(found, StringComparer.Ordinal);
    }

    private static void AddBody(SortedDictionary<string, string> found, byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                found["body"] = Redacted;
                return;
            }
            foreach (var member in document.RootElement.EnumerateObject())
                found["body." + member.Name] = Safe.Contains(member.Name) ? Value(member.Value) : Redacted;
        }
        catch (JsonException)
        {
            found["body"] = "[not JSON]";
        }
    }

    private static string Value(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => Cut(value.GetString()!),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null => value.GetRawText(),
        JsonValueKind.Array when value.EnumerateArray().All(e => e.ValueKind is JsonValueKind.String or JsonValueKind.Number) =>
            Cut(string.Join(",", value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()))),
        _ => Redacted, // nested objects: nothing in the API nests harmless data
    };

    private static string Cut(string text) => text.Length > MaxValue ? text[..MaxValue] + "..." : text;
}
