using System.Text.Json;
using System.Threading.Channels;

namespace Workspaces.Daemon.Hypervisor.Qemu;

// Live migration over local Unix sockets (the daemon bridges them to the peer): NBD + blockdev-mirror for
// the top overlay, migrate for RAM, pause-before-switchover so the mirror ends while the vCPUs are stopped.
public sealed partial class QemuGuest
{
    private const string MirrorJob = "live-mirror";
    private const string NbdNode = "live-nbd";
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(500);

    public async Task ExportDiskAsync(string nbdSocket, string exportName, string overlayPath, CancellationToken ct)
    {
        string node = await _qmp.NodeOfFileAsync(overlayPath, ct);
        await _qmp.NbdServerStartAsync(nbdSocket, ct);
        await _qmp.NbdExportAddAsync(exportName, node, ct);
    }

    public async Task ListenForMigrationAsync(string migrationSocket, CancellationToken ct)
    {
        // late-block-activate: the disks stay inactive after the state arrives, until cont, so a failed
        // switch-over never leaves two QEMUs writing to their disks.
        await _qmp.SetMigrationCapabilitiesAsync(new Dictionary<string, bool> { ["events"] = true, ["late-block-activate"] = true }, ct);
        await _qmp.MigrateIncomingAsync($"unix:{migrationSocket}", ct);
    }

    public async Task WaitIncomingAsync(CancellationToken ct)
    {
        using var events = Watch();
        while (true)
        {
            var stats = await _qmp.QueryMigrationStatsAsync(ct);
            if (stats.Status == "completed") return;
            if (stats.Status is "failed" or "cancelled")
                throw new HypervisorException($"QEMU (pid {Pid}) did not receive the guest: {stats.Error ?? stats.Status}");
            await events.NextAsync(e => e.Name == "MIGRATION", ProgressEvery, ct);
        }
    }

    public Task EndExportAsync(CancellationToken ct) => _qmp.NbdServerStopAsync(ct);

    public async Task<MigrationStats> MigrateLiveAsync(LiveMigrationTarget target, IProgress<LiveMigrationProgress>? progress, CancellationToken ct)
    {
        using var events = Watch();
        bool wasRunning = await _qmp.QueryStatusAsync(ct) == "running";
        bool switching = false;
        try
        {
            await MirrorAsync(target, events, progress, ct);
            await _qmp.SetMigrationCapabilitiesAsync(new Dictionary<string, bool>
            {
                ["events"] = true, ["pause-before-switchover"] = true, ["auto-converge"] = true,
            }, ct);
            await _qmp.SetMigrationLimitsAsync(target.MaxBandwidth, target.DowntimeLimitMs, ct);
            await _qmp.MigrateAsync($"unix:{target.MigrationSocket}", ct);
            await WaitMigrationAsync("pre-switchover", "ram", events, progress, ct);
            // The vCPUs are stopped: end the mirror now (no pivot, this guest stays on its own disk). Cancelling a
            // ready mirror first copies what is still in flight, so the destination holds every acknowledged write.
            progress?.Report(new LiveMigrationProgress("switchover", 0, 0, null));
            await _qmp.BlockJobCancelAsync(MirrorJob, force: false, ct);
            var ended = await events.NextAsync(e => IsJob(e, "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"), null, ct);
            if (ended!.Name != "BLOCK_JOB_COMPLETED" || JobError(ended) is { } error)
                throw new HypervisorException($"QEMU (pid {Pid}) could not finish the disk mirror: {JobError(ended) ?? "cancelled"}");
            switching = true;
            await _qmp.MigrateContinueAsync(ct);
            var stats = await WaitMigrationAsync("completed", "switchover", events, progress, ct);
            await TryAsync(() => _qmp.BlockdevDelAsync(NbdNode, CancellationToken.None));
            stats = await FinalStatsAsync(stats, ct);
            progress?.Report(new LiveMigrationProgress("done", 0, 0, stats));
            return stats;
        }
        catch (Exception e) when (!switching && e is not MigrationSwitchoverException)
        {
            await UndoAsync(wasRunning, events);
            if (e is HypervisorException or OperationCanceledException) throw;
            throw new HypervisorException($"QEMU (pid {Pid}) could not migrate the guest: {e.Message}", e);
        }
        catch (Exception e) when (switching && e is not MigrationSwitchoverException)
        {
            throw new MigrationSwitchoverException($"QEMU (pid {Pid}): the switch-over began and then failed ({e.Message}); the guest stays paused here", e);
        }
    }

    /// <summary>blockdev-add the NBD client node, start the mirror, wait until it is ready (the bulk copy done).</summary>
    private async Task MirrorAsync(LiveMigrationTarget target, EventWatch events, IProgress<LiveMigrationProgress>? progress, CancellationToken ct)
    {
        string top = await _qmp.NodeOfFileAsync(target.OverlayPath, ct);
        await _qmp.NbdClientAddAsync(NbdNode, target.NbdSocket, target.ExportName, ct);
        await _qmp.BlockdevMirrorAsync(MirrorJob, top, NbdNode, ct);
        while (true)
        {
            var e = await events.NextAsync(e => IsJob(e, "BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_ERROR"), ProgressEvery, ct);
            if (e is null)
            {
                progress?.Report(new LiveMigrationProgress("disk", 0, 0, null));
                continue;
            }
            if (e.Name == "BLOCK_JOB_READY")
            {
                long len = Number(e, "len");
                progress?.Report(new LiveMigrationProgress("disk", len, len, null));
                return;
            }
            throw new HypervisorException($"QEMU (pid {Pid}): the disk mirror ended before it was ready: {JobError(e) ?? e.Name}");
        }
    }

    /// <summary>Waits for a MIGRATION status, reporting progress meanwhile; failed or cancelled is an error.</summary>
    private async Task<MigrationStats> WaitMigrationAsync(string status, string phase, EventWatch events, IProgress<LiveMigrationProgress>? progress, CancellationToken ct)
    {
        while (true)
        {
            var stats = await _qmp.QueryMigrationStatsAsync(ct);
            if (stats.Status == status) return stats;
            if (stats.Status is "failed" or "cancelled")
                throw new HypervisorException($"QEMU (pid {Pid}) failed to migrate the guest: {stats.Error ?? stats.Status}");
            progress?.Report(new LiveMigrationProgress(phase, 0, 0, stats));
            await events.NextAsync(e => e.Name == "MIGRATION" || IsJob(e, "BLOCK_JOB_ERROR"), ProgressEvery, ct);
        }
    }

    /// <summary>
    /// QEMU 7.2 sets "completed" a moment before it computes the downtime and total time (migration_completion,
    /// then migration_calculate_complete): ask again until they are there.
    /// </summary>
    private async Task<MigrationStats> FinalStatsAsync(MigrationStats stats, CancellationToken ct)
    {
        for (int i = 0; i < 200 && stats.TotalTimeMs == 0; i++)
        {
            await Task.Delay(5, ct);
            stats = await _qmp.QueryMigrationStatsAsync(ct);
        }
        return stats;
    }

    /// <summary>Before the switch-over: stop migrating, end the mirror, drop the NBD node (incus#4054), run again if it ran.</summary>
    private async Task UndoAsync(bool wasRunning, EventWatch events)
    {
        using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await TryAsync(() => _qmp.MigrateCancelAsync(quick.Token));
        if (await TryAsync(() => _qmp.BlockJobExistsAsync(MirrorJob, quick.Token)))
        {
            await TryAsync(() => _qmp.BlockJobCancelAsync(MirrorJob, force: true, quick.Token));
            await TryAsync(() => events.NextAsync(e => IsJob(e, "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"), TimeSpan.FromSeconds(10), quick.Token));
        }
        await TryAsync(() => _qmp.BlockdevDelAsync(NbdNode, quick.Token));
        if (wasRunning && await TryAsync(() => _qmp.QueryStatusAsync(quick.Token)) is not "running")
            await TryAsync(() => _qmp.ContinueAsync(quick.Token));
    }

    private static async Task TryAsync(Func<Task> step)
    {
        try { await step(); }
        catch (Exception e) when (e is QmpException or QmpDisconnectedException or OperationCanceledException) { }
    }

    private static async Task<T?> TryAsync<T>(Func<Task<T>> step)
    {
        try { return await step(); }
        catch (Exception e) when (e is QmpException or QmpDisconnectedException or OperationCanceledException or HypervisorException) { return default; }
    }

    private static bool IsJob(QmpEvent e, params string[] names) =>
        names.Contains(e.Name) && e.Data.ValueKind == JsonValueKind.Object
        && e.Data.TryGetProperty("device", out var d) && d.GetString() == MirrorJob;

    private static string? JobError(QmpEvent e) =>
        e.Data.TryGetProperty("error", out var x) && x.ValueKind == JsonValueKind.String ? x.GetString() : null;

    private static long Number(QmpEvent e, string name) =>
        e.Data.TryGetProperty(name, out var x) && x.ValueKind == JsonValueKind.Number ? x.GetInt64() : 0;

    private EventWatch Watch() => new(this);

    /// <summary>The QMP events that arrive while it is open, in order; subscribed before the commands that cause them.</summary>
    private sealed class EventWatch : IDisposable
    {
        private readonly QemuGuest _guest;
        private readonly Channel<QmpEvent> _events = Channel.CreateUnbounded<QmpEvent>(new() { SingleReader = true });

        public EventWatch(QemuGuest guest)
        {
            _guest = guest;
            _guest.Observed += OnEvent;
            _ = _guest.Exited.ContinueWith(_ => _events.Writer.TryComplete(), TaskScheduler.Default);
        }

        private void OnEvent(QmpEvent e) => _events.Writer.TryWrite(e);

        /// <summary>The next event that matches, or null once wait passes without one (null wait: no limit).</summary>
        public async Task<QmpEvent?> NextAsync(Func<QmpEvent, bool> match, TimeSpan? wait, CancellationToken ct)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (wait is { } w) limit.CancelAfter(w);
            try
            {
                while (true)
                {
                    var e = await _events.Reader.ReadAsync(limit.Token);
                    if (match(e)) return e;
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return null; }
            catch (ChannelClosedException) { throw new HypervisorException($"QEMU (pid {_guest.Pid}) went away during the migration"); }
        }

        public void Dispose() => _guest.Observed -= OnEvent;
    }
}
