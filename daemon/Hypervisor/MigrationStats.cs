namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// A migration as the hypervisor reports it: status; RAM bytes sent, left and in all; rate (Mbit/s);
/// pages dirtied per second; expected and (once done) actual downtime, total and setup time, in ms.
/// </summary>
public sealed record MigrationStats(
    string Status, string? Error,
    long RamTransferred, long RamRemaining, long RamTotal, double Mbps, long DirtyPagesRate,
    long ExpectedDowntimeMs, long DowntimeMs, long TotalTimeMs, long SetupTimeMs);
