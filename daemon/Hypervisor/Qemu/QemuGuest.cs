using Workspaces.Daemon.Core;
using System.Threading.Channels;
using Workspaces.Native;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// A QEMU guest attached over QMP. Translates QMP events into GuestEvents and works out how the
/// guest ended: a SHUTDOWN event before the socket closed is an orderly end, anything else a crash.
/// Letting go (DisposeAsync) is not an end: the guest runs on. A monitor that closes while QEMU
/// still runs leaves a guest nobody can control; it is stopped, and that is said.
/// </summary>
public sealed partial class QemuGuest : IGuest
{
    private readonly QmpClient _qmp;
    private readonly ILogger _logger;
    private readonly Channel<GuestEvent> _events = Channel.CreateUnbounded<GuestEvent>(new() { SingleReader = true });
    private readonly Task<GuestExit> _exited;
    private string? _shutdownReason;
    private volatile bool _detached;
    /// <summary>Unplugs asked for and not yet done, by device id: DEVICE_DELETED completes them.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _unplugs = new(StringComparer.Ordinal);
    private TaskCompletionSource<string>? _migration; // the end of the save or restore under way: its final status

    /// <summary>Every QMP event as it comes, for the live migration's waits (QemuGuest.Live).</summary>
    private event Action<QmpEvent>? Observed;

    public QemuGuest(int pid, QmpClient qmp, ILogger logger)
    {
        Pid = pid;
        _qmp = qmp;
        _logger = logger;
        _exited = PumpAsync();
    }

    public int Pid { get; }
    public ChannelReader<GuestEvent> Events => _events.Reader;
    public Task<GuestExit> Exited => _exited;

    private async Task<GuestExit> PumpAsync()
    {
        await foreach (var e in _qmp.Events.ReadAllAsync())
        {
            GuestEvent? translated = e.Name switch
            {
                "STOP" => new GuestEvent(GuestEventKind.Paused, "vCPUs stopped"),
                "RESUME" => new GuestEvent(GuestEventKind.Resumed, "vCPUs running"),
                "RESET" => new GuestEvent(GuestEventKind.Reset, "system reset"),
                "SHUTDOWN" => new GuestEvent(GuestEventKind.Shutdown, ShutdownReason(e)),
                _ => null,
            };
            if (e.Name == "DEVICE_DELETED" && e.Data.ValueKind == System.Text.Json.JsonValueKind.Object
                && e.Data.TryGetProperty("device", out var device) && device.GetString() is { } id && _unplugs.TryRemove(id, out var unplugged))
                unplugged.TrySetResult();
            if (e.Name == "MIGRATION" && MigrationStatus(e) is "completed" or "failed" or "cancelled")
                _migration?.TrySetResult(MigrationStatus(e)!);
            Observed?.Invoke(e);
            if (translated is null) continue;
            if (translated.Kind == GuestEventKind.Shutdown) _shutdownReason = translated.Detail;
            _events.Writer.TryWrite(translated);
        }
        _events.Writer.TryComplete();
        _migration?.TrySetException(new HypervisorException($"QEMU (pid {Pid}) went away while its state was being saved or restored"));
        if (_detached) return new GuestExit(false, "detached; the guest runs on", Detached: true);
        // The socket closed; QEMU exits right after. Give it a moment to be gone for real.
        bool gone = await Poll.WaitUntilAsync(() => !ProcessTable.IsAlive(Pid), TimeSpan.FromSeconds(5));
        if (!gone && !_detached)
        {
            Libc.SendSignal(Pid, Libc.SIGKILL);
            var lost = new GuestExit(false, $"QEMU (pid {Pid}) closed its monitor but kept running; workspacesd cannot control it, so it stopped it");
            HypervisorLog.GuestExited(_logger, Pid, lost.Reason);
            return lost;
        }
        if (_detached) return new GuestExit(false, "detached; the guest runs on", Detached: true);
        var exit = _shutdownReason is { } reason
            ? new GuestExit(true, reason)
            : new GuestExit(false, $"QEMU (pid {Pid}) exited unexpectedly, without a shutdown");
        HypervisorLog.GuestExited(_logger, Pid, exit.Reason);
        return exit;
    }

    private static string? MigrationStatus(QmpEvent e) =>
        e.Data.ValueKind == System.Text.Json.JsonValueKind.Object && e.Data.TryGetProperty("status", out var s) ? s.GetString() : null;

    private static string ShutdownReason(QmpEvent e)
    {
        string reason = e.Data.ValueKind == System.Text.Json.JsonValueKind.Object && e.Data.TryGetProperty("reason", out var r)
            ? r.GetString() ?? "" : "";
        return reason switch
        {
            "guest-shutdown" => "the guest powered off",
            "host-qmp-quit" => "stopped by workspacesd",
            "host-signal" => "QEMU was terminated by a signal",
            "guest-panic" => "the guest panicked",
            "" => "QEMU shut down",
            _ => $"QEMU shut down ({reason})",
        };
    }

    public Task<string> QueryStateAsync(CancellationToken ct) => _qmp.QueryStatusAsync(ct);

    public async Task RunAsync(CancellationToken ct)
    {
        await _qmp.ContinueAsync(ct);
        string status = await _qmp.QueryStatusAsync(ct);
        if (status != "running") throw new HypervisorException($"QEMU reports '{status}' after cont, not running");
    }

    public Task PauseAsync(CancellationToken ct) => _qmp.StopVcpusAsync(ct);
    public Task PowerdownAsync(CancellationToken ct) => _qmp.PowerdownAsync(ct);
    public Task ResetAsync(CancellationToken ct) => _qmp.ResetAsync(ct);
    public Task<long> BootMemoryAsync(CancellationToken ct) => _qmp.BaseMemoryAsync(ct);
    public Task SetMemoryAsync(long bytes, CancellationToken ct) => _qmp.BalloonAsync(bytes, ct);
    public Task ChangeMediumAsync(string device, string path, CancellationToken ct) => _qmp.ChangeMediumAsync(device, path, ct);

    public Task AttachDiskAsync(GuestDataDisk disk, CancellationToken ct) => DataDiskPlug.AttachAsync(_qmp, disk, ct);

    public async Task DetachDiskAsync(string name, TimeSpan timeout, CancellationToken ct)
    {
        // Listen before asking, so an event that comes at once is not missed; a repeat shares the wait.
        var deleted = _unplugs.GetOrAdd(DataDiskPlug.DeviceId(name), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await DataDiskPlug.DetachAsync(_qmp, name, deleted.Task, timeout, ct);
        _unplugs.TryRemove(new KeyValuePair<string, TaskCompletionSource>(DataDiskPlug.DeviceId(name), deleted));
    }

    public async Task<IReadOnlySet<string>> AttachedDisksAsync(CancellationToken ct) => DataDiskPlug.Names(await _qmp.BlockDevicePathsAsync(ct));
    /// <summary>
    /// migrate to fd: a pipe into the daemon's zstd, which writes the file. Done only once QEMU says
    /// "completed" and zstd has written everything and exited.
    /// </summary>
    public async Task SaveStateAsync(string path, CancellationToken ct)
    {
        using var zstd = ZstdPipe.Compress(path);
        await HandOverAsync(zstd, ct);
        await MigrateAsync(() => _qmp.MigrateAsync($"fd:{StateFd}", ct), "saving", ct);
        await zstd.FinishAsync(ct);
    }

    /// <summary>migrate-incoming from fd: a pipe out of the daemon's zstd reading the file.</summary>
    public async Task RestoreStateAsync(string path, CancellationToken ct)
    {
        using var zstd = ZstdPipe.Decompress(path);
        await HandOverAsync(zstd, ct);
        await MigrateAsync(() => _qmp.MigrateIncomingAsync($"fd:{StateFd}", ct), "restoring", ct);
        await zstd.FinishAsync(ct);
    }

    private const string StateFd = "state";

    private async Task HandOverAsync(ZstdPipe zstd, CancellationToken ct)
    {
        await _qmp.GetFdAsync(StateFd, zstd.Descriptor, ct);
        zstd.LetGo();
    }

    /// <summary>Starts a migration and waits for its MIGRATION event saying how it ended (events capability on).</summary>
    private async Task MigrateAsync(Func<Task> start, string what, CancellationToken ct)
    {
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _migration, done, null) is not null)
            throw new HypervisorException($"QEMU (pid {Pid}) is already saving or restoring its state");
        try
        {
            await _qmp.EnableMigrationEventsAsync(ct);
            await start();
            string status = await done.Task.WaitAsync(ct);
            if (status != "completed")
            {
                var (_, error) = await _qmp.QueryMigrateAsync(ct);
                throw new HypervisorException($"QEMU (pid {Pid}) failed {what} the guest's state: {error ?? status}");
            }
        }
        catch (QmpException e)
        {
            throw new HypervisorException($"QEMU (pid {Pid}) refused {what} the guest's state: {e.Message}", e);
        }
        finally
        {
            Interlocked.CompareExchange(ref _migration, null, done);
        }
    }

    public async Task KillAsync(CancellationToken ct)
    {
        try
        {
            using var quick = CancellationTokenSource.CreateLinkedTokenSource(ct);
            quick.CancelAfter(TimeSpan.FromSeconds(3));
            await _qmp.QuitAsync(quick.Token);
            await _exited.WaitAsync(quick.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or QmpDisconnectedException or QmpException or TimeoutException)
        {
            // QEMU did not leave when asked: take it down.
        }
        Libc.SendSignal(Pid, Libc.SIGKILL);
        await _exited.WaitAsync(TimeSpan.FromSeconds(10), ct);
    }

    /// <summary>Lets go of the guest without stopping it (a daemon shutdown, or after a stop that recorded the end).</summary>
    public ValueTask DisposeAsync()
    {
        _detached = true;
        return _qmp.DisposeAsync();
    }
}
