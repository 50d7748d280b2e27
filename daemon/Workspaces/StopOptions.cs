namespace Workspaces.Daemon.Workspaces;

/// <summary>How to stop: Force skips ACPI; Timeout overrides how long to wait for the guest to power off.</summary>
public sealed record StopOptions(bool Force = false, TimeSpan? Timeout = null)
{
    public static readonly StopOptions Default = new();
}
