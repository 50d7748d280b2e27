using Workspaces.Daemon.Core;
namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// Everything the hypervisor needs to run one guest; built by the lifecycle from a workspace and its image.
/// A sealed disk is not on the command line: it is opened over QMP once the secret is handed over
/// (SealedDisk, the whole chain from the overlay down, and DiskSecret, the LUKS passphrase).
/// DataDisks are plugged over QMP too, into the hot-plug ports every guest has, before the guest runs.
/// RunAs: the uid and gid QEMU runs as (the workspace's own); null keeps the daemon's.
/// Incoming: the guest is to be restored from saved state (RestoreStateAsync) instead of booted.
/// SeedDrive: an empty removable cdrom (QemuCommandLine.SeedDevice) for the NoCloud seed, whose medium goes in over QMP
/// before the guest runs, so that the seed can be made while QEMU starts.
/// CpuModel: the workspace's named guest CPU (CpuModels.ForLaunch turns it into -cpu).
/// Name is for people (messages); HostName is unique on the host (the workspace's id), for QEMU's -name.
/// </summary>
public sealed record GuestSpec(
    string Name,
    string HostName,
    int Vcpus,
    int MemoryMiB,
    string Accelerator,
    GuestPaths Files,
    string? DiskPath,
    string? KernelPath,
    string? InitrdPath,
    string? Cmdline,
    DiskChain? SealedDisk = null,
    string? DiskSecret = null,
    GuestNic? Nic = null,
    uint? RunAs = null,
    IReadOnlyList<GuestDataDisk>? DataDisks = null,
    bool Incoming = false,
    bool SeedDrive = false,
    string CpuModel = CpuModels.Default)
{
    public string RuntimeDir => Files.Dir;
    public string QmpSocket => Files.QmpSocket;
    public string PidFile => Files.PidFile;
    public string ConsoleLog => Files.ConsoleLog;
    public string ShellSocket => Files.ShellSocket;
    public string AgentSocket => Files.AgentSocket;

    /// <summary>
    /// The pid of this guest's QEMU while it is still starting: only once its pid file is whole (QEMU writes
    /// "PID\n" in one write) and that process's command line names this guest's QMP socket; else null.
    /// </summary>
    public int? ReadWrittenPid()
    {
        string text;
        try { text = File.ReadAllText(PidFile); }
        catch (IOException) { return null; }
        return text.EndsWith('\n') && int.TryParse(text.AsSpan().Trim(), out int pid)
               && ProcessTable.CommandLine(pid) is { } args && args.Any(a => a.Contains(QmpSocket, StringComparison.Ordinal))
            ? pid : null;
    }

    /// <summary>The pid QEMU wrote at start, or null when there is no (readable) pid file.</summary>
    public int? ReadPid()
    {
        try { return int.TryParse(File.ReadAllText(PidFile).Trim(), out int pid) ? pid : null; }
        catch (IOException) { return null; }
    }
}
