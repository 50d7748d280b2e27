using Microsoft.Extensions.Options;
using Workspaces.Native;

namespace Workspaces.Daemon.Api;

/// <summary>
/// Who may connect to the socket at all: its group (the admins') and mode (0666 when users are
/// admitted, else socketMode). Applied once Kestrel has made the socket, and again after every
/// reload, so the socket never refuses users the configuration admits, nor the reverse.
/// </summary>
public sealed partial class SocketAccess(IOptionsMonitor<WorkspacesOptions> options, CallerResolver callers, ILogger<SocketAccess> logger)
{
    public void Apply()
    {
        var o = options.CurrentValue;
        var mode = o.AllowUsers ? (UnixFileMode)Convert.ToInt32("666", 8) : (UnixFileMode)Convert.ToInt32(o.SocketMode, 8);
        if (callers.AdminGroupId is { } gid) Libc.ChangeOwner(o.Socket, uint.MaxValue, gid);
        File.SetUnixFileMode(o.Socket, mode);
        LogListening(logger, o.Socket, Convert.ToString((int)mode, 8), callers.AdminGroupId?.ToString() ?? "(none: root only)");
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Listening on {Socket} (mode {Mode}, admin group {Gid})")]
    private static partial void LogListening(ILogger logger, string socket, string mode, string gid);
}
