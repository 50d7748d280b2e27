namespace Workspaces.Daemon.State;

/// <summary>A workspace's saved RAM and device state (ws stop --stateful): the file's hash, size and format.</summary>
public sealed class SavedStateRow
{
    public string WorkspaceId { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public long Size { get; set; }
    public string Format { get; set; } = "";
    /// <summary>The address its NIC held when saved (the guest still has it configured): asked for again at restore.</summary>
    public string? Address { get; set; }
    /// <summary>The memory QEMU was started with (the balloon may have given the guest less) and its vCPUs: a restore needs the same.</summary>
    public int MemoryMib { get; set; }
    public int Vcpus { get; set; }
    public long SavedAt { get; set; }
}
