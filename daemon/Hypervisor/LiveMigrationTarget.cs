namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// Where the source's QEMU sends a live migration: two local Unix sockets, each bridged by the daemon to
/// the destination (the NBD export receiving the disk, and the migration stream carrying RAM and devices),
/// the export's name, and the source's own overlay file (the top image mirrored).
/// MaxBandwidth in bytes/s, DowntimeLimit in ms.
/// </summary>
public sealed record LiveMigrationTarget(
    string NbdSocket, string ExportName, string MigrationSocket, string OverlayPath,
    long MaxBandwidth = 8L << 30, long DowntimeLimitMs = 100);
