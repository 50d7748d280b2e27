using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

// Live migration without shared storage (QEMU 7.2): the destination exports its new overlay over NBD,
// the source mirrors its top overlay into it, and RAM moves with migrate. The `block` capability is
// deprecated, so it is not used.
public sealed partial class QmpClient
{
    /// <summary>
    /// nbd-server-start on a Unix socket (the daemon bridges it to the peer channel; nothing listens on the
    /// network). Its addr is QEMU's legacy socket address: the path sits under "data".
    /// </summary>
    public Task NbdServerStartAsync(string socketPath, CancellationToken ct) =>
        ExecuteAsync("nbd-server-start", new JsonObject
        {
            ["addr"] = new JsonObject { ["type"] = "unix", ["data"] = new JsonObject { ["path"] = socketPath } },
        }, ct);

    /// <summary>block-export-add of a node over the running NBD server, writable (it receives the source's mirror).</summary>
    public Task NbdExportAddAsync(string exportName, string nodeName, CancellationToken ct) =>
        ExecuteAsync("block-export-add", new JsonObject
        {
            ["type"] = "nbd", ["id"] = exportName, ["node-name"] = nodeName, ["name"] = exportName, ["writable"] = true,
        }, ct);

    public Task NbdServerStopAsync(CancellationToken ct) => ExecuteAsync("nbd-server-stop", null, ct);

    /// <summary>blockdev-add of an NBD client node reaching an export through a local Unix socket.</summary>
    public Task NbdClientAddAsync(string nodeName, string socketPath, string exportName, CancellationToken ct) =>
        BlockdevAddAsync(new JsonObject
        {
            ["driver"] = "nbd", ["node-name"] = nodeName, ["export"] = exportName,
            ["server"] = new JsonObject { ["type"] = "unix", ["path"] = socketPath },
        }, ct);

    /// <summary>
    /// blockdev-mirror sync=top of a node into target. write-blocking: once the bulk copy is done every guest
    /// write reaches the target before it is acknowledged, so even a heavy writer converges (lxd#12765).
    /// </summary>
    public Task BlockdevMirrorAsync(string jobId, string device, string target, CancellationToken ct) =>
        ExecuteAsync("blockdev-mirror", new JsonObject
        {
            ["job-id"] = jobId, ["device"] = device, ["target"] = target, ["sync"] = "top",
            ["copy-mode"] = "write-blocking", ["auto-dismiss"] = true,
        }, ct);

    /// <summary>block-job-cancel: a ready mirror ends without pivoting (the source stays on its own disk); force ends it at once.</summary>
    public Task BlockJobCancelAsync(string jobId, bool force, CancellationToken ct) =>
        ExecuteAsync("block-job-cancel", new JsonObject { ["device"] = jobId, ["force"] = force }, ct);

    /// <summary>query-block-jobs: whether a job of that id still exists.</summary>
    public async Task<bool> BlockJobExistsAsync(string jobId, CancellationToken ct)
    {
        var jobs = await ExecuteAsync("query-block-jobs", null, ct);
        return jobs.EnumerateArray().Any(j => j.TryGetProperty("device", out var d) && d.GetString() == jobId);
    }

    /// <summary>query-named-block-nodes: whether a node of that name is open.</summary>
    public async Task<bool> NodeExistsAsync(string nodeName, CancellationToken ct)
    {
        var nodes = await ExecuteAsync("query-named-block-nodes", new JsonObject { ["flat"] = true }, ct);
        return nodes.EnumerateArray().Any(n => n.TryGetProperty("node-name", out var d) && d.GetString() == nodeName);
    }

    /// <summary>
    /// The root node of the device whose top image is the file at overlayPath (query-block). The workspace's
    /// disk has an auto-generated node name when it came from -drive; its file names it either way.
    /// </summary>
    public async Task<string> NodeOfFileAsync(string overlayPath, CancellationToken ct)
    {
        var blocks = await ExecuteAsync("query-block", null, ct);
        foreach (var block in blocks.EnumerateArray())
            if (block.TryGetProperty("inserted", out var inserted)
                && inserted.TryGetProperty("file", out var file) && file.GetString() is { } name
                && (name == overlayPath || name.Contains(JsonEncodedText.Encode(overlayPath).ToString(), StringComparison.Ordinal)))
                return inserted.GetProperty("node-name").GetString()!;
        throw new HypervisorException($"QEMU has no disk open on {overlayPath}");
    }

    /// <summary>migrate-set-capabilities: each named capability on (or off).</summary>
    public Task SetMigrationCapabilitiesAsync(IReadOnlyDictionary<string, bool> capabilities, CancellationToken ct)
    {
        var list = new JsonArray();
        foreach (var (name, on) in capabilities) list.Add((JsonNode)new JsonObject { ["capability"] = name, ["state"] = on });
        return ExecuteAsync("migrate-set-capabilities", new JsonObject { ["capabilities"] = list }, ct);
    }

    /// <summary>migrate-set-parameters: the bandwidth cap (bytes/s) and the pause the guest may take at the switch-over (ms).</summary>
    public Task SetMigrationLimitsAsync(long maxBandwidth, long downtimeLimitMs, CancellationToken ct) =>
        ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = maxBandwidth, ["downtime-limit"] = downtimeLimitMs }, ct);

    /// <summary>migrate-continue from pre-switchover: QEMU sends the rest and hands the guest over.</summary>
    public Task MigrateContinueAsync(CancellationToken ct) =>
        ExecuteAsync("migrate-continue", new JsonObject { ["state"] = "pre-switchover" }, ct);

    public Task MigrateCancelAsync(CancellationToken ct) => ExecuteAsync("migrate_cancel", null, ct);

    /// <summary>query-migrate in full: status, RAM counters and times, as QEMU reports them.</summary>
    public async Task<MigrationStats> QueryMigrationStatsAsync(CancellationToken ct)
    {
        var r = await ExecuteAsync("query-migrate", null, ct);
        long Long(JsonElement parent, string name) =>
            parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
        var ram = r.TryGetProperty("ram", out var x) ? x : default;
        double mbps = ram.ValueKind == JsonValueKind.Object && ram.TryGetProperty("mbps", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetDouble() : 0;
        return new MigrationStats(
            r.TryGetProperty("status", out var s) ? s.GetString() ?? "" : "",
            r.TryGetProperty("error-desc", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null,
            Long(ram, "transferred"), Long(ram, "remaining"), Long(ram, "total"), mbps, Long(ram, "dirty-pages-rate"),
            Long(r, "expected-downtime"), Long(r, "downtime"), Long(r, "total-time"), Long(r, "setup-time"));
    }
}
