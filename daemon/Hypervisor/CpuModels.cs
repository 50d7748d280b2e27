namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// Named guest CPU models (issue #13 item 6). A guest's CPU must be the same on both sides of a move, so
/// each workspace records a named model (default qemu64, which TCG and KVM both give) and QEMU is launched
/// with it; "host" (KVM's passthrough) is the opt-out from moves, refused in a ticket. Which models and
/// machine types this host can give is CpuCatalog's answer, asked of QEMU.
/// </summary>
public static class CpuModels
{
    public const string Default = "qemu64";
    public const string HostPassthrough = "host";
    public const string DefaultMachine = "q35";

    /// <summary>What workspaces recorded before CPU models were (QEMU's blanket -cpu max under TCG) keep running with.</summary>
    public const string Legacy = "max";

    /// <summary>The -cpu argument: the recorded model, except that a legacy workspace under KVM keeps the host's CPU it always had.</summary>
    public static string ForLaunch(string model, string accelerator) =>
        model == Legacy && accelerator == "kvm" ? HostPassthrough : model;

    public static bool IsMigratable(string model) => model != HostPassthrough;
}
