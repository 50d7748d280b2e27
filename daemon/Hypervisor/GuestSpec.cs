namespace Workspaces.Daemon.Hypervisor;

/// <summary>Everything the hypervisor needs to run one guest; built by the lifecycle from a workspace and its image.</summary>
public sealed record GuestSpec(
    string Name,
    int Vcpus,
    int MemoryMiB,
    string Accelerator,
    string RuntimeDir,
    string? DiskPath,
    string? KernelPath,
    string? InitrdPath,
    string? Cmdline)
{
    public string QmpSocket => Path.Combine(RuntimeDir, "qmp.sock");
    public string PidFile => Path.Combine(RuntimeDir, "qemu.pid");
    public string ConsoleLog => Path.Combine(RuntimeDir, "console.log");

    /// <summary>The pid QEMU wrote at start, or null when there is no (readable) pid file.</summary>
    public int? ReadPid()
    {
        try { return int.TryParse(File.ReadAllText(PidFile).Trim(), out int pid) ? pid : null; }
        catch (IOException) { return null; }
    }
}
