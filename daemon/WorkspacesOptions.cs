namespace Workspaces.Daemon;

/// <summary>
/// workspacesd's configuration: /etc/workspaces/workspacesd.json, then the command line
/// (--state-dir, --socket, --config). Every path can be moved so the daemon also runs from a checkout.
/// </summary>
public sealed class WorkspacesOptions
{
    public const string DefaultConfigPath = "/etc/workspaces/workspacesd.json";

    /// <summary>SQLite database, image cache and per-workspace directories live here.</summary>
    public string StateDir { get; set; } = "/var/lib/workspaces";

    /// <summary>The local API's Unix socket.</summary>
    public string Socket { get; set; } = "/run/workspaces/workspaces.sock";

    /// <summary>Members of this group (and root) manage everything; the socket belongs to it.</summary>
    public string SocketGroup { get; set; } = "workspaces";

    /// <summary>Octal mode of the socket; 0660 keeps everyone but root and the group out at connect time.</summary>
    public string SocketMode { get; set; } = "0660";

    /// <summary>Admit any local user to act on their own workspaces (the socket is then made 0666).</summary>
    public bool AllowUsers { get; set; }

    /// <summary>auto (probe KVM, fall back to TCG), kvm or tcg.</summary>
    public string Accelerator { get; set; } = "auto";

    /// <summary>How long the KVM probe guest may take before KVM is judged unusable.</summary>
    public double KvmProbeTimeoutSeconds { get; set; } = 5;

    public string QemuBinary { get; set; } = "qemu-system-x86_64";
    public string QemuImgBinary { get; set; } = "qemu-img";
    public string DnsmasqBinary { get; set; } = "dnsmasq";

    /// <summary>How long a stop waits for the guest to power off after ACPI powerdown before forcing it.</summary>
    public double StopTimeoutSeconds { get; set; } = 30;

    public int DefaultVcpus { get; set; } = 1;
    public int DefaultMemoryMiB { get; set; } = 256;

    /// <summary>auto (systemd if it runs the host, else cgroups written directly) or none.</summary>
    public string ResourceControl { get; set; } = "auto";

    /// <summary>Where the cgroup hierarchies are mounted.</summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>What a workspace may ask for, and how far the host may be committed.</summary>
    public PolicyOptions Policy { get; set; } = new();

    /// <summary>Open API connections one uid may hold at once (root has no cap).</summary>
    public int MaxConnectionsPerUser { get; set; } = 64;

    /// <summary>How many long operations run at once; more wait their turn.</summary>
    public int MaxConcurrentOperations { get; set; } = 8;
}
