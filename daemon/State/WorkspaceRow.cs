namespace Workspaces.Daemon.State;

/// <summary>One row of the workspaces table: the spec and the recorded intent.</summary>
public sealed class WorkspaceRow
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public uint Owner { get; set; }
    public string ImageId { get; set; } = "";
    public string ImageName { get; set; } = "";
    public int Vcpus { get; set; }
    public int MemoryMib { get; set; }
    public string? Cmdline { get; set; }
    public string State { get; set; } = "";
    public string? Reason { get; set; }
    public int? Pid { get; set; }
    public string? Accelerator { get; set; }
    /// <summary>The named guest CPU model QEMU runs it with (CpuModels); "host" opts out of moves.</summary>
    public string CpuModel { get; set; } = "qemu64";
    /// <summary>Provenance of a copy made by `ws move --keep-source`: the peer and workspace it was copied from; null otherwise.</summary>
    public string? CopiedFrom { get; set; }
    public int? CpuQuotaPercent { get; set; }
    public int? CpuWeight { get; set; }
    public int? TasksMax { get; set; }
    public int? IoWeight { get; set; }
    /// <summary>The uid and gid this workspace's QEMU runs as (allocated at insert, unique on the host's database).</summary>
    public uint GuestUid { get; set; }
    public long CreatedAt { get; set; }
    public long UpdatedAt { get; set; }
}
