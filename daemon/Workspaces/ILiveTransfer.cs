using Workspaces.Daemon.Hypervisor;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The seam the live-migration engine (wt-live: QMP NBD export, mirror and migrate, tunnelled over the
/// peer mTLS channel) plugs into the move's phases. Prepare runs on the destination, Perform on the
/// source, Finish on the destination. Until an implementation is registered, live moves are refused with
/// 501 (LiveTransferMissing) and the default mode for a running workspace is stateful.
/// </summary>
public interface ILiveTransfer
{
    /// <summary>Destination, Prepare: start the incoming QEMU (-incoming defer) and its NBD export; where the source sends RAM and disk.</summary>
    Task<LiveEndpoints> PrepareIncomingAsync(string workspaceId, CancellationToken ct);

    /// <summary>Source, Perform: mirror the top overlay and migrate RAM to the endpoints, up to the completed switch-over.</summary>
    Task PerformAsync(IGuest guest, LiveEndpoints endpoints, IProgress<LiveProgress> progress, CancellationToken ct);

    /// <summary>Destination, Finish: resume the incoming guest on success, kill it on failure.</summary>
    Task FinishAsync(string workspaceId, bool succeeded, CancellationToken ct);
}

/// <summary>Where the destination listens, as tunnel ids the peer channel bridges to local Unix sockets.</summary>
public sealed record LiveEndpoints(string Ram, string Nbd);

/// <summary>One progress report of a live transfer (what `ws move` shows for live mode).</summary>
public sealed record LiveProgress(long Bytes, long Total, long BytesPerSecond, long DirtyPagesRate, long ExpectedDowntimeMs);
