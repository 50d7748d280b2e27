namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// Everything the hypervisor needs to run one guest; built by the lifecycle from a workspace and its image.
/// A sealed disk is not on the command line: it is opened over QMP once the secret is handed over
/// (SealedDisk, the whole chain from the overlay down, and DiskSecret, the LUKS passphrase).
/// RunAs: the uid and gid QEMU runs as (the workspace's own); null keeps the daemon's.
/// </summary>
public sealed record GuestSpec(
    string Name,
    int Vcpus,
    int MemoryMiB,
    string Accelerator,
    string RuntimeDir,
    string? DiskPath,
    string? KernelPath,
    string? InitrdPath,
    string? Cmdline,
    DiskChain? SealedDisk = null,
    string? DiskSecret = null,
    GuestNic? Nic = null,
    uint? RunAs = null)
{
    public string QmpSocket => Path.Combine(RuntimeDir, "qmp.sock");
    public string PidFile => Path.Combine(RuntimeDir, "qemu.pid");
    public string ConsoleLog => Path.Combine(RuntimeDir, "console.log");

    /// <summary>The guest's second serial port, a root-only socket: a shell for tests and for a person debugging.</summary>
    public string ShellSocket => Path.Combine(RuntimeDir, "shell.sock");

    /// <summary>The pid QEMU wrote at start, or null when there is no (readable) pid file.</summary>
    public int? ReadPid()
    {
        try { return int.TryParse(File.ReadAllText(PidFile).Trim(), out int pid) ? pid : null; }
        catch (IOException) { return null; }
    }
}
