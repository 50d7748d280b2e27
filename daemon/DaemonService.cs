using Microsoft.Extensions.Options;
using Workspaces.Daemon.Api;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Workspaces;
using Workspaces.Native;

namespace Workspaces.Daemon;

/// <summary>
/// The daemon's own start and stop: reconcile SQLite with the guests that are running before the
/// API opens, set the socket's owner and mode once Kestrel has made it, and on shutdown let go of
/// every guest without stopping any.
/// </summary>
public sealed partial class DaemonService(
    WorkspaceFactory factory,
    WorkspaceDefinitions definitions,
    NetworkService network,
    GuestSupervisor guests,
    KvmProbe kvm,
    CallerResolver callers,
    IHostApplicationLifetime lifetime,
    IOptions<WorkspacesOptions> options,
    ILogger<DaemonService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        _ = kvm.Choice; // probe in the background; the first start or GET /v1/host waits for it
        await factory.RecoverCheckinsAsync(ct); // a disk mid-checkin is made whole before anything looks at it
        definitions.RemoveUnclaimedDirectories();
        await network.ReconcileAsync(ct); // bridges, DHCP and the policy first: re-attached guests use them
        await guests.ReattachAllAsync(ct);
        lifetime.ApplicationStarted.Register(SecureSocket);
    }

    public Task StopAsync(CancellationToken ct) => guests.DetachAllAsync();

    private void SecureSocket()
    {
        var o = options.Value;
        var mode = o.AllowUsers ? (UnixFileMode)Convert.ToInt32("666", 8) : (UnixFileMode)Convert.ToInt32(o.SocketMode, 8);
        if (callers.AdminGroupId is { } gid) Libc.ChangeOwner(o.Socket, uint.MaxValue, gid);
        File.SetUnixFileMode(o.Socket, mode);
        LogListening(logger, o.Socket, Convert.ToString((int)mode, 8), callers.AdminGroupId?.ToString() ?? "(none: root only)");
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Listening on {Socket} (mode {Mode}, admin group {Gid})")]
    private static partial void LogListening(ILogger logger, string socket, string mode, string gid);
}
