namespace Workspaces.Daemon.Guests;

/// <summary>
/// cloud-init's verdict on a boot, from /run/cloud-init/result.json (written when its last stage
/// ends): Done with no errors, or Error with what failed (a module, a user script's exit status).
/// </summary>
public sealed record CloudInitResult(bool Done, IReadOnlyList<string> Errors)
{
    public const string GuestPath = "/run/cloud-init/result.json";

    /// <summary>Reads result.json: {"v1": {"datasource": ..., "errors": [...]}}.</summary>
    public static CloudInitResult Parse(ReadOnlySpan<byte> json)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json.ToArray());
        var errors = doc.RootElement.TryGetProperty("v1", out var v1) && v1.TryGetProperty("errors", out var e)
            ? e.EnumerateArray().Select(x => x.ValueKind == System.Text.Json.JsonValueKind.String ? x.GetString()! : x.GetRawText()).ToList()
            : [];
        return new CloudInitResult(errors.Count == 0, errors);
    }
}
