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
public sealed class QemuGuest : IGuest
{
    private readonly QmpClient _qmp;
    private readonly ILogger _logger;
    private readonly Channel<GuestEvent> _events = Channel.CreateUnbounded<GuestEvent>(new() { SingleReader = true });
    private readonly Task<GuestExit> _exited;
    private string? _shutdownReason;
    private volatile bool _detached;

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
            if (translated is null) continue;
            if (translated.Kind == GuestEventKind.Shutdown) _shutdownReason = translated.Detail;
            _events.Writer.TryWrite(translated);
        }
        _events.Writer.TryComplete();
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
