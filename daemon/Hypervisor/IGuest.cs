using System.Threading.Channels;

namespace Workspaces.Daemon.Hypervisor;

/// <summary>One running guest, attached. Disposing detaches; it never stops the guest.</summary>
public interface IGuest : IAsyncDisposable
{
    int Pid { get; }

    /// <summary>What the guest or hypervisor did on its own; completes when the guest is gone.</summary>
    ChannelReader<GuestEvent> Events { get; }

    /// <summary>Completes once the guest process has exited, saying how.</summary>
    Task<GuestExit> Exited { get; }

    /// <summary>"running" or "paused" (or the hypervisor's own word for anything else).</summary>
    Task<string> QueryStateAsync(CancellationToken ct);

    Task RunAsync(CancellationToken ct);
    Task PauseAsync(CancellationToken ct);
    Task PowerdownAsync(CancellationToken ct);
    Task ResetAsync(CancellationToken ct);

    /// <summary>The memory the guest booted with (its ceiling while it runs), in bytes.</summary>
    Task<long> BootMemoryAsync(CancellationToken ct);

    /// <summary>Asks the guest to give memory back (or take it again) up to its boot size, through its balloon.</summary>
    Task SetMemoryAsync(long bytes, CancellationToken ct);

    /// <summary>Plugs a data disk into its hot-plug port (the guest sees a new virtio disk with the disk's name as serial).</summary>
    Task AttachDiskAsync(GuestDataDisk disk, CancellationToken ct);

    /// <summary>
    /// Asks the guest to release a data disk and waits, up to timeout, until it has; then closes the
    /// disk's file. A guest that does not release it in time keeps it, and that is an error.
    /// </summary>
    Task DetachDiskAsync(string name, TimeSpan timeout, CancellationToken ct);

    /// <summary>The names of the data disks plugged in now.</summary>
    Task<IReadOnlySet<string>> AttachedDisksAsync(CancellationToken ct);
    /// <summary>
    /// Saves the paused guest's RAM and device state, compressed, into a new file at path (written by the
    /// daemon); returns once the state is complete and the file fully written.
    /// The guest stays paused, its disks flushed and handed over: it may be quit, or run again.
    /// </summary>
    Task SaveStateAsync(string path, CancellationToken ct);

    /// <summary>For a guest launched with GuestSpec.Incoming: loads the state SaveStateAsync wrote at path. The guest stays paused.</summary>
    Task RestoreStateAsync(string path, CancellationToken ct);

    /// <summary>
    /// Live migration, destination (a guest launched with GuestSpec.Incoming): serves the guest's new overlay
    /// (the file at overlayPath, created with the source's backing chain) writable over NBD on a local Unix
    /// socket, under exportName, for the source's mirror.
    /// </summary>
    Task ExportDiskAsync(string nbdSocket, string exportName, string overlayPath, CancellationToken ct);

    /// <summary>Live migration, destination: listens on a local Unix socket for the source's RAM and device state (disks activated only at RunAsync).</summary>
    Task ListenForMigrationAsync(string migrationSocket, CancellationToken ct);

    /// <summary>Live migration, destination: waits until the incoming state is complete (the guest stays paused).</summary>
    Task WaitIncomingAsync(CancellationToken ct);

    /// <summary>Live migration, destination: stops the NBD server (before RunAsync, or before killing a failed copy).</summary>
    Task EndExportAsync(CancellationToken ct);

    /// <summary>
    /// Live migration, source: mirrors the top overlay into the destination's export, then moves RAM, and at
    /// the switch-over ends the mirror (this guest stays on its own disk) and hands over. Returns QEMU's
    /// figures (downtime, total time). A failure before the switch-over leaves this guest as it was
    /// (running if it ran) with no mirror or NBD node left; after it, MigrationSwitchoverException and
    /// the guest paused.
    /// </summary>
    Task<MigrationStats> MigrateLiveAsync(LiveMigrationTarget target, IProgress<LiveMigrationProgress>? progress, CancellationToken ct);

    /// <summary>Puts another medium (a file) into a removable drive, such as the seed's cdrom, while the guest runs.</summary>
    Task ChangeMediumAsync(string device, string path, CancellationToken ct);

    /// <summary>Ends the guest at once: ask the hypervisor to quit, then kill the process.</summary>
    Task KillAsync(CancellationToken ct);
}
