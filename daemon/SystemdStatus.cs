using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting.Systemd;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon;

/// <summary>
/// Talks to systemd as a Type=notify service: a live STATUS= line ("2 running, 1 paused"), the
/// watchdog ping at half of WatchdogSec (sent only while the daemon's own loop is alive), and
/// reload on SIGHUP (systemctl reload): the config file is read again, guests are not touched.
/// Outside systemd it only handles SIGHUP.
/// </summary>
public sealed partial class SystemdStatus(
    GuestSupervisor guests,
    IConfiguration configuration,
    ILogger<SystemdStatus> logger,
    ISystemdNotifier? notifier = null) : BackgroundService
{
    private PosixSignalRegistration? _hangup;

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // a reload, not the default termination
            Reload();
        });
        var watchdog = WatchdogInterval();
        var period = watchdog is { } w && w < TimeSpan.FromSeconds(5) ? w : TimeSpan.FromSeconds(5);
        string? last = null;
        using var timer = new PeriodicTimer(period);
        do
        {
            if (notifier is not { IsEnabled: true }) continue;
            var (running, paused) = guests.ActiveCounts();
            string status = $"{running} running, {paused} paused";
            if (watchdog is not null) notifier.Notify(new ServiceState("WATCHDOG=1"));
            if (status != last) notifier.Notify(new ServiceState("STATUS=" + status));
            last = status;
        } while (await timer.WaitForNextTickAsync(ct));
    }

    /// <summary>Half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises; null when there is no watchdog.</summary>
    private static TimeSpan? WatchdogInterval() =>
        long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), out long usec) && usec > 0
            ? TimeSpan.FromMicroseconds(usec / 2.0)
            : null;

    private void Reload()
    {
        notifier?.Notify(new ServiceState("RELOADING=1"));
        ((IConfigurationRoot)configuration).Reload();
        LogReloaded(logger);
        notifier?.Notify(new ServiceState("READY=1"));
    }

    public override void Dispose()
    {
        _hangup?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Configuration reloaded (SIGHUP); guests untouched")]
    private static partial void LogReloaded(ILogger logger);
}
