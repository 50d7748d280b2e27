namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// The named guest CPU models and machine types this host can give a migrated workspace (issue #13
/// item 6). A guest's CPU must be the same on both sides of a move, so it is named, never derived from
/// the host: "host" (and KVM's host passthrough) is the opt-out from migration, refused in a ticket.
/// Under TCG every model is emulated, so the list is what this QEMU build emulates for x86-64 that a
/// workspace is offered; "max" is QEMU-version dependent and is only accepted between equal builds,
/// which the peers of one site are.
/// </summary>
public static class CpuModels
{
    public const string Default = "qemu64";
    public const string HostPassthrough = "host";
    public const string DefaultMachine = "q35";

    private static readonly string[] Emulated = ["qemu64", "kvm64", "max", "Nehalem", "Westmere", "SandyBridge", "IvyBridge", "Haswell", "Skylake-Client"];
    private static readonly string[] Machines = [DefaultMachine];

    /// <summary>
    /// The model a workspace's QEMU runs with today (QemuCommandLine: "host" under KVM, "max" under TCG).
    /// A per-workspace recorded model (default qemu64) is not wired yet; the ticket states what really runs.
    /// </summary>
    public static string ForAccelerator(string? accelerator) => accelerator == "kvm" ? HostPassthrough : "max";

    public static bool IsMigratable(string model) => model != HostPassthrough && Emulated.Contains(model);

    /// <summary>Null when this host can give the model and machine; otherwise why not, for the refusal.</summary>
    public static string? Refusal(string model, string machine)
    {
        if (model == HostPassthrough)
            return "the workspace uses the host's own CPU (cpu model 'host'), which is not migratable: it opted out of moves";
        if (!Emulated.Contains(model))
            return $"this host cannot give CPU model '{model}' (it gives: {string.Join(", ", Emulated)})";
        if (!Machines.Contains(machine))
            return $"this host cannot give machine type '{machine}' (it gives: {string.Join(", ", Machines)})";
        return null;
    }
}
