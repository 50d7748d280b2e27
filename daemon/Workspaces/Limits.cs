using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Workspaces;

/// <summary>The bounds every value of a workspace's spec must keep, checked before anything is touched.</summary>
public static class Limits
{
    public const int MinMemoryMiB = 32;

    public static void Check(int vcpus, int memoryMiB, int? cpuQuotaPercent, int? cpuWeight, int? tasksMax, int? ioWeight)
    {
        if (vcpus is < 1 or > 256) throw WorkspacesException.BadRequest($"vcpus must be between 1 and 256, not {vcpus}");
        if (memoryMiB < MinMemoryMiB || memoryMiB > 1 << 22) throw WorkspacesException.BadRequest($"memoryMiB must be between {MinMemoryMiB} and 4194304, not {memoryMiB}");
        if (cpuQuotaPercent is < 1 or > 25600) throw WorkspacesException.BadRequest($"cpuQuotaPercent must be between 1 and 25600 (percent of one CPU), not {cpuQuotaPercent}");
        if (cpuWeight is < 1 or > 10000) throw WorkspacesException.BadRequest($"cpuWeight must be between 1 and 10000, not {cpuWeight}");
        if (tasksMax is < 16) throw WorkspacesException.BadRequest($"tasksMax must be at least 16 (QEMU needs its threads), not {tasksMax}");
        if (ioWeight is < 1 or > 10000) throw WorkspacesException.BadRequest($"ioWeight must be between 1 and 10000, not {ioWeight}");
    }
}
