using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Resources;

/// <summary>What a workspace's guest process may use, derived from its spec. Null: no limit set.</summary>
public sealed record ResourceLimits(int? CpuQuotaPercent, int? CpuWeight, long MemoryMaxBytes, int? TasksMax, int? IoWeight)
{
    /// <summary>
    /// QEMU needs memory beyond the guest's RAM (device state, TCG's translation cache, I/O buffers):
    /// the limit is the guest's memory plus 256 MiB plus an eighth, so a guest that stays within its
    /// RAM is never the one killed.
    /// </summary>
    public static ResourceLimits For(WorkspaceRow row) => new(
        row.CpuQuotaPercent, row.CpuWeight, ((long)row.MemoryMib + 256 + row.MemoryMib / 8) << 20, row.TasksMax, row.IoWeight);
}
