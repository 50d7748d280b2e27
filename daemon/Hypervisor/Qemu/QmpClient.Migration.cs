using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

// Migration commands, used to save a guest's RAM and device state to a file and restore it.
// QEMU 7.2: migrate takes only a uri; exec: and fd: work, file: does not.
public sealed partial class QmpClient
{
    /// <summary>migrate-set-capabilities events=on: MIGRATION events report each status change (so completion is awaited, not polled).</summary>
    public Task EnableMigrationEventsAsync(CancellationToken ct) =>
        ExecuteAsync("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "events", ["state"] = true }),
        }, ct);

    /// <summary>migrate: start sending the guest's state to uri; returns at once, progress arrives as MIGRATION events.</summary>
    public Task MigrateAsync(string uri, CancellationToken ct) => ExecuteAsync("migrate", new JsonObject { ["uri"] = uri }, ct);

    /// <summary>migrate-incoming (after -incoming defer): start reading a guest's state from uri.</summary>
    public Task MigrateIncomingAsync(string uri, CancellationToken ct) => ExecuteAsync("migrate-incoming", new JsonObject { ["uri"] = uri }, ct);

    /// <summary>query-migrate: the status and, after a failure, QEMU's description of it.</summary>
    public async Task<(string Status, string? Error)> QueryMigrateAsync(CancellationToken ct)
    {
        var result = await ExecuteAsync("query-migrate", null, ct);
        string status = result.TryGetProperty("status", out var s) ? s.GetString() ?? "" : "";
        string? error = result.TryGetProperty("error-desc", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        return (status, error);
    }
}
