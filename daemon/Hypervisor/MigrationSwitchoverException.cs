namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// A live migration failed after the switch-over began: the destination may or may not have the guest,
/// so the source is left paused (zero running copies can be recovered; two cannot).
/// </summary>
public sealed class MigrationSwitchoverException(string message, Exception? inner = null) : HypervisorException(message, inner);
