using System.Globalization;

namespace Workspaces.Client;

public sealed partial class WorkspacesClient
{
    /// <summary>GET /v1/audit: oldest first, the newest `limit` of those that match.</summary>
    public Task<AuditRecord[]> GetAuditAsync(DateTimeOffset? since = null, string? workspace = null, uint? actor = null, int? limit = null,
        CancellationToken ct = default)
    {
        var query = new List<string>();
        if (since is { } s) query.Add("since=" + Uri.EscapeDataString(s.ToString("O", CultureInfo.InvariantCulture)));
        if (workspace is not null) query.Add("workspace=" + Uri.EscapeDataString(workspace));
        if (actor is { } a) query.Add("actor=" + a.ToString(CultureInfo.InvariantCulture));
        if (limit is { } l) query.Add("limit=" + l.ToString(CultureInfo.InvariantCulture));
        return GetAsync("v1/audit" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), Json.AuditRecordArray, ct);
    }
}
