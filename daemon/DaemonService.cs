using Workspaces.Daemon.Api;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon;

/// <summary>
/// The daemon's own start and stop: reconcile SQLite with the guests that are running before the
/// API opens, set the socket's owner and mode once Kestrel has made it, and on shutdown let go of
/// every guest without stopping any.
/// </summary>
public sealed class DaemonService(
    WorkspaceFactory factory,
    WorkspaceDefinitions definitions,
    NetworkService network,
    GuestSupervisor guests,
    KvmProbe kvm,
    SocketAccess socket,
    IHostApplicationLifetime lifetime) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        _ = kvm.Choice; // probe in the background; the first start or GET /v1/host waits for it
        await factory.RecoverCheckinsAsync(ct); // a disk mid-checkin is made whole before anything looks at it
        definitions.RemoveUnclaimedDirectories();
        await network.ReconcileAsync(ct); // bridges, DHCP and the policy first: re-attached guests use them
        await guests.ReattachAllAsync(ct);
        lifetime.ApplicationStarted.Register(socket.Apply);
    }

    public Task StopAsync(CancellationToken ct) => guests.DetachAllAsync();
}
