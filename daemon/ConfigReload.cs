using Microsoft.Extensions.Options;
using Workspaces.Daemon.Api;

namespace Workspaces.Daemon;

/// <summary>The configuration file the daemon was started with (--config, or the default).</summary>
public sealed record ConfigFile(string Path, bool Optional);

/// <summary>
/// What `systemctl reload` (SIGHUP) changes, in one place. The file is read again and checked
/// first: one that does not validate is refused whole, and the daemon keeps the values it runs with.
/// Taken at once: the policy, allowUsers, socketMode and socketGroup (re-applied to the socket),
/// the stop timeout, the default shape and the connection and operation caps. Only a restart
/// changes where things are and what runs them: stateDir, socket, the binaries, accelerator,
/// resourceControl, cgroupRoot, guestUidLocks and peers.listen (a reload that changes them says so in
/// the log). The other peers settings (name, addresses, check interval) are taken at once.
/// </summary>
public sealed partial class ConfigReload(
    IConfiguration configuration,
    ConfigFile file,
    IOptionsMonitor<WorkspacesOptions> current,
    SocketAccess socket,
    ILogger<ConfigReload> logger)
{
    /// <summary>Null when the new configuration was taken, else why it was refused.</summary>
    public string? Reload()
    {
        WorkspacesOptions next;
        try
        {
            next = new ConfigurationBuilder().AddJsonFile(file.Path, file.Optional, reloadOnChange: false).Build().Get<WorkspacesOptions>() ?? new();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or IOException)
        {
            return Refused($"{file.Path} cannot be read: {e.Message}");
        }
        var check = new WorkspacesOptionsValidator().Validate(null, next);
        if (check.Failed) return Refused($"{file.Path}: {check.FailureMessage}");

        var was = current.CurrentValue;
        var restartOnly = new (string Name, object? Before, object? After)[]
        {
            ("accelerator", was.Accelerator, next.Accelerator), ("resourceControl", was.ResourceControl, next.ResourceControl),
            ("cgroupRoot", was.CgroupRoot, next.CgroupRoot), ("qemuBinary", was.QemuBinary, next.QemuBinary),
            ("qemuImgBinary", was.QemuImgBinary, next.QemuImgBinary), ("dnsmasqBinary", was.DnsmasqBinary, next.DnsmasqBinary),
            ("guestUidLocks", was.GuestUidLocks, next.GuestUidLocks), ("peers.listen", was.Peers.Listen, next.Peers.Listen),
        }.Where(c => !Equals(c.Before, c.After)).Select(c => c.Name).ToList();
        ((IConfigurationRoot)configuration).Reload();
        socket.Apply();
        LogReloaded(logger, restartOnly.Count == 0 ? "" : $"; {string.Join(", ", restartOnly)} changed and take effect at the next restart");
        return null;
    }

    private string Refused(string why)
    {
        LogRefused(logger, why);
        return why;
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Configuration reloaded (SIGHUP); guests untouched{RestartNote}")]
    private static partial void LogReloaded(ILogger logger, string restartNote);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Reload refused, the daemon keeps its configuration: {Why}")]
    private static partial void LogRefused(ILogger logger, string why);
}
