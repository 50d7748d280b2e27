namespace Workspaces.Daemon;

/// <summary>
/// Test-only faults at a move's phase boundaries (issue #13 acceptance), on the CrashPoints mechanism:
/// WORKSPACES_CRASH_AT=migration-{role}-{Phase} kills this daemon (SIGKILL, no clean-up) as the phase
/// begins, right after it was recorded; WORKSPACES_FAULT_DROP_LINK_AT=migration-{role}-{Phase} makes the
/// phase's peer call fail as a cut link would (MigrationLinkDropped), while the daemon lives on.
/// Read once at start; unset, each costs one comparison.
/// </summary>
public static class MigrationFaults
{
    private static readonly string? DropLinkAt = Environment.GetEnvironmentVariable("WORKSPACES_FAULT_DROP_LINK_AT");

    public static string Point(string role, string phase) => $"migration-{role}-{phase}";

    /// <summary>Called by each side right after it recorded a phase and before the phase acts.</summary>
    public static void Reach(string role, string phase)
    {
        string point = Point(role, phase);
        CrashPoints.Reach(point);
        if (DropLinkAt == point) throw new MigrationLinkDroppedException(point);
    }
}

/// <summary>The injected cut link: answered as an unreachable peer is (504), the move left for MigrationResolver.</summary>
public sealed class MigrationLinkDroppedException(string point)
    : Errors.WorkspacesException(504, "Peer unreachable", $"the peer link was cut at {point} (fault injection)");
