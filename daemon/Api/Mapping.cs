using Workspaces.Client;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Api;

/// <summary>Rows to wire DTOs.</summary>
public static class Mapping
{
    public static WorkspaceInfo ToInfo(this WorkspaceRow w) => new(
        w.Id, w.Name, w.Owner, w.ImageId, w.ImageName, w.Vcpus, w.MemoryMib, w.Cmdline, w.State, w.Reason, w.Pid, w.Accelerator,
        DateTimeOffset.FromUnixTimeMilliseconds(w.CreatedAt), DateTimeOffset.FromUnixTimeMilliseconds(w.UpdatedAt),
        w.CpuQuotaPercent, w.CpuWeight, w.TasksMax, w.IoWeight, CpuModel: w.CpuModel, CopiedFrom: w.CopiedFrom);

    public static ImageInfo ToInfo(this ImageRow i) => new(
        i.Id, i.Name, i.Kind, i.DiskFormat, i.DiskVirtualSize, i.Disk, i.Kernel, i.Initrd, i.Cmdline, i.Size,
        DateTimeOffset.FromUnixTimeMilliseconds(i.CreatedAt), i.Parent, i.TagList, i.Encrypted, i.OriginWorkspace, i.OriginHost,
        i.State is null ? null : new TemplateStateInfo(i.State, i.StateMemoryMib ?? 0, i.StateVcpus ?? 0));
}
