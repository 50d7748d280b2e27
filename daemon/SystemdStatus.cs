using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting.Systemd;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon;

/// <summary>
/// Talks to systemd as a Type=notify service: a live STATUS= line ("2 running, 1 paused"), the
/// watchdog ping at half of WatchdogSec (sent only while the daemon's own loop is alive), and
/// reload on SIGHUP (systemctl reload; what it changes: ConfigReload), guests untouched.
/// Outside systemd it only handles SIGHUP.
/// </summary>
public sealed class SystemdStatus(
    GuestSupervisor guests,
    ConfigReload config,
    ISystemdNotifier? notifier = null) : BackgroundService
{
    // Made with the service, which the host does before it starts any (Kestrel included): a SIGHUP
    // that comes as soon as the API answers is a reload, never the default termination.
    private readonly PosixSignalRegistration _hangup = HandleHangup(() => Reload(notifier, config));

    /// <summary>SIGHUP is a reload, even when the daemon inherited it ignored (started under nohup): reset first, then handled.</summary>
    private static PosixSignalRegistration HandleHangup(Action reload)
    {
        Native.Libc.ResetSignal(Native.Libc.SIGHUP);
        return PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            reload();
        });
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
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

    private static void Reload(ISystemdNotifier? notifier, ConfigReload config)
    {
        notifier?.Notify(new ServiceState("RELOADING=1"));
        string? refused = config.Reload();
        notifier?.Notify(new ServiceState("READY=1"));
        if (refused is not null) notifier?.Notify(new ServiceState("STATUS=reload refused: " + refused));
    }

    public override void Dispose()
    {
        _hangup.Dispose();
        base.Dispose();
    }
}
