using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Workspaces;

/// <summary>The bounds every value of a workspace's spec must keep, checked before anything is touched.</summary>
public static class Limits
{
    /// <summary>The least any policy may set as policy.minMemoryMiB: below it no Linux guest boots.</summary>
    public const int MinMemoryMiB = 32;

    /// <summary>PID_MAX_LIMIT: no cgroup can hold more tasks.</summary>
    public const int MaxTasks = 4194304;

    /// <summary>Where nothing enforces limits (IResourceController.Mode "none"), asking for one is refused, with why.</summary>
    public static void CheckEnforceable(string mode, string why, int? cpuQuotaPercent, int? cpuWeight, int? tasksMax, int? ioWeight)
    {
        if (mode != "none") return;
        var asked = new (string Name, int? Value)[] { ("cpuQuotaPercent", cpuQuotaPercent), ("cpuWeight", cpuWeight), ("tasksMax", tasksMax), ("ioWeight", ioWeight) }
            .Where(l => l.Value is not null).Select(l => l.Name).ToList();
        if (asked.Count > 0)
            throw WorkspacesException.Conflict($"this host cannot enforce {string.Join(", ", asked)}: {why}");
    }

    /// <param name="floorMiB">The host's policy.minMemoryMiB: less memory than that and a guest only thrashes or is OOM-killed.</param>
    public static void Check(int vcpus, int memoryMiB, int? cpuQuotaPercent, int? cpuWeight, int? tasksMax, int? ioWeight, int floorMiB)
    {
        if (vcpus is < 1 or > 256) throw WorkspacesException.BadRequest($"vcpus must be between 1 and 256, not {vcpus}");
        if (memoryMiB < floorMiB || memoryMiB > 1 << 22) throw WorkspacesException.BadRequest($"memoryMiB must be between {floorMiB} (this host's policy.minMemoryMiB) and 4194304, not {memoryMiB}");
        if (cpuQuotaPercent is < 1 or > 25600) throw WorkspacesException.BadRequest($"cpuQuotaPercent must be between 1 and 25600 (percent of one CPU), not {cpuQuotaPercent}");
        if (cpuWeight is < 1 or > 10000) throw WorkspacesException.BadRequest($"cpuWeight must be between 1 and 10000, not {cpuWeight}");
        if (tasksMax is < 16 or > MaxTasks) throw WorkspacesException.BadRequest($"tasksMax must be between 16 (QEMU needs its threads) and {MaxTasks} (the kernel's PID limit), not {tasksMax}");
        if (ioWeight is < 1 or > 10000) throw WorkspacesException.BadRequest($"ioWeight must be between 1 and 10000, not {ioWeight}");
    }
}
