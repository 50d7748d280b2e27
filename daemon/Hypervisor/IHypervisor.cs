namespace Workspaces.Daemon.Hypervisor;

/// <summary>Runs guests. Launched guests start with their vCPUs stopped; guests outlive the daemon and are re-attached.</summary>
public interface IHypervisor
{
    /// <summary>Starts a guest process with its vCPUs stopped and returns it attached.</summary>
    Task<IGuest> LaunchAsync(GuestSpec spec, CancellationToken ct);

    /// <summary>Re-attaches to a guest process that survived a daemon restart; null if it is gone.</summary>
    Task<IGuest?> AttachAsync(GuestSpec spec, int pid, CancellationToken ct);
}
