using System.Globalization;
using Workspaces.Client;
using Workspaces.Daemon.Audit;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Api;

public static class AuditEndpoints
{
    public static void MapAuditEndpoints(this RouteGroupBuilder v1)
    {
        // Admins read every record; anyone else only those about their own workspaces.
        v1.MapGet("/audit", (HttpContext context, AuditReader reader, string? since, string? workspace, uint? actor, int? limit) =>
        {
            var caller = context.Caller();
            if (limit is < 1 or > 100_000) throw WorkspacesException.BadRequest($"limit must be 1 to 100000, not {limit}");
            DateTimeOffset? from = null;
            if (since is not null)
                from = DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t
                    : throw WorkspacesException.BadRequest($"since must be a time (ISO 8601, e.g. 2026-11-26T10:00Z), not {Core.Names.Quote(since)}");
            var query = new AuditQuery(from, workspace, actor, caller.IsAdmin ? caller.ChosenOwner : caller.Uid, limit ?? 1000);
            return Results.Json(reader.Read(query).ToArray(), WorkspacesJson.Default.AuditRecordArray);
        }).WithSummary("the audit log, oldest first: since (a time), workspace (a name), actor (a uid), limit (the newest N, default 1000); "
                       + "users see records about their own workspaces only").Produces<AuditRecord[]>();
    }
}
