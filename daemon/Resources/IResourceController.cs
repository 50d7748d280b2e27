using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Resources;

/// <summary>
/// Puts a guest's process under its limits and changes them live. One implementation is chosen at
/// start: systemd over D-Bus when it runs the host, cgroupfs where the daemon can write cgroups
/// itself, or none — and it always says which, and why, in /v1/host.
/// Groups, scopes and machines are host-wide, so they are keyed by the workspace's id (unique on
/// the host; a workspace moved in gets a new one), never by its name, which is only per owner.
/// </summary>
public interface IResourceController
{
    /// <summary>"systemd", "cgroup-v1", "cgroup-v2" or "none".</summary>
    string Mode { get; }

    /// <summary>Why this mode, in a sentence for `ws host`.</summary>
    string Reason { get; }

    /// <summary>Where a workspace's limits live (a systemd unit or a cgroup), or null where nothing enforces them.</summary>
    string? Location(string id);

    /// <summary>Places the process under the limits, at Location(id); the description is for people (unit descriptions).</summary>
    Task AttachAsync(string id, string description, int pid, ResourceLimits limits, CancellationToken ct);

    /// <summary>Changes the limits of a running guest.</summary>
    Task UpdateAsync(string id, ResourceLimits limits, CancellationToken ct);

    /// <summary>How often the kernel's OOM killer struck in the workspace's memory group; null where this mode cannot tell.</summary>
    long? OutOfMemoryKills(string id);

    /// <summary>Removes what AttachAsync made, once the process is gone.</summary>
    Task ReleaseAsync(string id);
}
