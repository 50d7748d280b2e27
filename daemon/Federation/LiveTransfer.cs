using Workspaces.Daemon.Hypervisor;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The live-migration engine as the move's phases use it. Destination: PrepareAsync (after launching the
/// incoming guest on its new overlay) exports the overlay and listens for the state, and returns the
/// stream ids to hand the source; FinishAsync waits for the state and runs the guest; AbortAsync
/// withdraws everything before the caller kills its copy. Source: PerformAsync bridges QEMU's sockets
/// to those streams over the peer channel and migrates.
/// </summary>
public sealed class LiveTransfer(PeerStreams streams, PeerChannel channel)
{
    public const string ExportName = "workspace";
    private static readonly TimeSpan StreamLifetime = TimeSpan.FromMinutes(10);

    public async Task<LiveStreams> PrepareAsync(IGuest incoming, string overlayPath, string runtimeDir, string sourceFingerprint, CancellationToken ct)
    {
        string nbd = Path.Combine(runtimeDir, "live-nbd.sock");
        string state = Path.Combine(runtimeDir, "live-state.sock");
        await incoming.ExportDiskAsync(nbd, ExportName, overlayPath, ct);
        await incoming.ListenForMigrationAsync(state, ct);
        return new LiveStreams(streams.Register(nbd, sourceFingerprint, StreamLifetime), streams.Register(state, sourceFingerprint, StreamLifetime));
    }

    public async Task<MigrationStats> PerformAsync(IGuest guest, string overlayPath, string runtimeDir, string peerAddress, string peerFingerprint,
        LiveStreams ids, IProgress<LiveMigrationProgress>? progress, CancellationToken ct, Action<string>? giveSocket = null)
    {
        string nbd = Path.Combine(runtimeDir, "live-nbd-out.sock");
        string state = Path.Combine(runtimeDir, "live-state-out.sock");
        await using var disk = PeerTunnel.Open(channel, peerAddress, peerFingerprint, ids.Nbd, nbd);
        await using var ram = PeerTunnel.Open(channel, peerAddress, peerFingerprint, ids.State, state);
        // QEMU runs as the workspace's own user: it can connect only to sockets that user owns.
        giveSocket?.Invoke(nbd);
        giveSocket?.Invoke(state);
        var stats = await guest.MigrateLiveAsync(new LiveMigrationTarget(nbd, ExportName, state, overlayPath), progress, ct);
        // QEMU says "completed" once it has written everything into the local socket, not once the peer has it:
        // let both tunnels drain (QEMU has closed them) before tearing them down, or the tail of the state is lost.
        await Task.WhenAll(ram.Completion, disk.Completion).WaitAsync(DrainTimeout, ct);
        return stats;
    }

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Destination, after the source's PerformAsync succeeded: the state is complete; stop the export and run the guest.</summary>
    public async Task FinishAsync(IGuest incoming, LiveStreams ids, CancellationToken ct)
    {
        await ReceivedAsync(incoming, ids, ct);
        await incoming.RunAsync(ct);
    }

    /// <summary>Destination, after the source's PerformAsync succeeded: the state is complete and the export stopped; the guest is still paused.</summary>
    public async Task ReceivedAsync(IGuest incoming, LiveStreams ids, CancellationToken ct)
    {
        Revoke(ids);
        await incoming.WaitIncomingAsync(ct);
        await incoming.EndExportAsync(ct);
    }

    /// <summary>Destination, on failure: no stream may open any more; the caller then kills the incoming guest.</summary>
    public async Task AbortAsync(IGuest incoming, LiveStreams ids)
    {
        Revoke(ids);
        try { await incoming.EndExportAsync(CancellationToken.None); }
        catch (Exception e) when (e is HypervisorException or InvalidOperationException or IOException) { /* it is killed next anyway */ }
    }

    private void Revoke(LiveStreams ids)
    {
        streams.Revoke(ids.Nbd);
        streams.Revoke(ids.State);
    }
}
