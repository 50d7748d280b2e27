using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.State;
using Workspaces.Native;

namespace Workspaces.Daemon.Api;

/// <summary>
/// Exceptions to RFC 9457 problems, by type. What a caller or the host's state can cause is a 4xx,
/// 503 or 507 with a sentence a person can act on; only a defect of ours is a 500.
/// </summary>
public static class Problems
{
    private const int SqliteFull = 13; // SQLITE_FULL
    private const int Eperm = 1, Eacces = 13, Enospc = 28, Erofs = 30; // errno

    public static Problem From(Exception e, string stateDir) => e switch
    {
        WorkspacesException w => new("about:blank", w.Title, w.Status, w.Message, w.Allowed, w.Offer),
        BadHttpRequestException { StatusCode: 413 } => new("about:blank", "Payload too large", 413,
            $"the request body is larger than the API accepts ({ApiLimits.MaxJsonBody} bytes)"),
        BadHttpRequestException b => new("about:blank", "Bad request", b.StatusCode, $"malformed request: {b.Message}"),
        // A full disk is the host's state, not a bug: say where and how much, and how to free it (deletes still work: Database.Freeing).
        Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: SqliteFull } or IOException { HResult: Enospc } or NativeException { Errno: Enospc } => DiskFull(stateDir),
        IOException { HResult: Erofs } or NativeException { Errno: Erofs } => Unavailable("Read-only file system",
            $"the host refused a write: {e.Message}; the file system is read-only (a container's /sys or /proc/sys?)"),
        UnauthorizedAccessException or NativeException { Errno: Eacces or Eperm } => Unavailable("Permission denied",
            $"the host refused workspacesd: {e.Message}; it needs root (or the capability) for this"),
        NativeException n => Unavailable("System call failed", n.Message),
        // The daemon's slot of guest uids is used up: the host's state, freed by deletes (Insufficient storage, as a full disk).
        GuestUidsExhaustedException => new("about:blank", "Out of guest uids", 507, e.Message),
        NftablesException => Unavailable("Firewall unavailable", $"{e.Message}; check that nftables works here (nft list ruleset)"),
        QmpDisconnectedException => Unavailable("Hypervisor unavailable", $"the guest's QEMU closed its monitor ({e.Message}): it has exited or is exiting"),
        QmpException => Unavailable("Hypervisor refused", e.Message),
        DiskBusyException => new("about:blank", "Disk busy", 409, e.Message),
        HypervisorException => Unavailable("Hypervisor unavailable", e.Message),
        // A guest without an agent (or one that hangs) is the guest's state; the agent refusing a command is the caller's to fix.
        GuestAgentUnavailableException => Unavailable("Guest agent not answering", e.Message),
        GuestAgentException g => new("about:blank", "Guest agent refused", 422, $"the guest refused: {g.Description}"),
        _ => new("about:blank", "Internal error", 500, $"internal error: {e.Message}"),
    };

    private static Problem Unavailable(string title, string detail) => new("about:blank", title, 503, detail);

    private static Problem DiskFull(string dir)
    {
        long free = new DriveInfo(dir).AvailableFreeSpace;
        return new("about:blank", "Insufficient storage", 507,
            $"the disk holding {dir} is full ({free} bytes free); free space with `ws image prune`, `ws image rm` or `ws rm`, then try again");
    }
}
