using Workspaces.Client;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>Detection and quarantine (issue #14): a workspace's violation counters, and `ws quarantine NAME [--release]`.</summary>
public static class TrafficEndpoints
{
    public static void MapTrafficEndpoints(this RouteGroupBuilder v1)
    {
        // Whoever may see the workspace (its owner, admins) may see its counters.
        v1.MapGet("/workspaces/{name}/traffic", (HttpContext context, string name, WorkspaceAccess access, TrafficWatch watch, Quarantine quarantine) =>
        {
            var row = access.Get(name, context.Caller());
            return Results.Json(Info(row, watch, quarantine), WorkspacesJson.Default.TrafficInfo);
        }).WithSummary("what the workspace's traffic policy dropped (anti-spoofing, egress allowlist, rate limit), and its quarantine")
            .Produces<TrafficInfo>();

        // Its owner or an admin may put a workspace in quarantine by hand.
        v1.MapPost("/workspaces/{name}/quarantine", async (HttpContext context, string name, WorkspaceAccess access, TrafficWatch watch, Quarantine quarantine) =>
        {
            var request = await context.Request.ReadJsonAsync(WorkspacesJson.Default.QuarantineRequest);
            var caller = context.Caller();
            var row = access.Get(name, caller);
            string reason = string.IsNullOrWhiteSpace(request.Reason) ? $"by hand (uid {caller.Uid})" : request.Reason.Trim();
            if (!await quarantine.TakeAsync(row, request.Action ?? QuarantineActions.Isolate, reason, caller, context.RequestAborted))
                throw Errors.WorkspacesException.Conflict($"workspace '{row.Name}' is already in quarantine ({quarantine.Of(row.Id)?.Action}); release it first");
            return Results.Json(Info(access.Get(name, caller), watch, quarantine), WorkspacesJson.Default.TrafficInfo);
        }).WithSummary("put a workspace in quarantine: action isolate (only its gateway and DHCP; the default), pause or stop; owner or admin")
            .Body<QuarantineRequest>().Produces<TrafficInfo>();

        // Release: admins; the owner only for a quarantine they put on by hand (Quarantine.ReleaseAsync decides).
        v1.MapDelete("/workspaces/{name}/quarantine", async (HttpContext context, string name, WorkspaceAccess access, TrafficWatch watch, Quarantine quarantine) =>
        {
            var caller = context.Caller();
            var row = access.Get(name, caller);
            await quarantine.ReleaseAsync(row, caller, context.RequestAborted);
            return Results.Json(Info(access.Get(name, caller), watch, quarantine), WorkspacesJson.Default.TrafficInfo);
        }).WithSummary("release a workspace from quarantine (admins; its owner when the owner put it there by hand)")
            .Produces<TrafficInfo>();
    }

    private static TrafficInfo Info(WorkspaceRow row, TrafficWatch watch, Quarantine quarantine)
    {
        var reading = watch.Last(row.Id);
        var held = quarantine.Of(row.Id) is { } q
            ? new QuarantineInfo(q.Action, q.Reason, DateTimeOffset.FromUnixTimeMilliseconds(q.Since), q.ByPolicy, q.ActorUid)
            : null;
        var counters = reading?.Counters ?? Network.TrafficCounters.Zero;
        return new TrafficInfo(row.Name, counters.Spoofed, counters.EgressRefused, counters.RateDropped, reading?.At, held);
    }
}
