using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Resources;

/// <summary>
/// Puts a guest's process under its limits and changes them live. One implementation is chosen at
/// start: systemd over D-Bus when it runs the host, cgroupfs where the daemon can write cgroups
/// itself, or none — and it always says which, and why, in /v1/host.
/// </summary>
public interface IResourceController
{
    /// <summary>"systemd", "cgroup-v1", "cgroup-v2" or "none".</summary>
    string Mode { get; }

    /// <summary>Why this mode, in a sentence for `ws host`.</summary>
    string Reason { get; }

    /// <summary>Where a workspace's limits live (a systemd unit or a cgroup), or null where nothing enforces them.</summary>
    string? Location(string workspace);

    /// <summary>Places the process under the limits, at Location(workspace).</summary>
    Task AttachAsync(string workspace, int pid, ResourceLimits limits, CancellationToken ct);

    /// <summary>Changes the limits of a running guest.</summary>
    Task UpdateAsync(string workspace, ResourceLimits limits, CancellationToken ct);

    /// <summary>How often the kernel's OOM killer struck in the workspace's memory group; null where this mode cannot tell.</summary>
    long? OutOfMemoryKills(string workspace);

    /// <summary>Removes what AttachAsync made, once the process is gone.</summary>
    Task ReleaseAsync(string workspace);
}
