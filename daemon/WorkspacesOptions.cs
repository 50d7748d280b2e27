using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Workspaces.Daemon;

/// <summary>
/// workspacesd's configuration: /etc/workspaces/workspacesd.json, then the command line
/// (--state-dir, --socket, --config). Every path can be moved so the daemon also runs from a checkout.
/// </summary>
public sealed class WorkspacesOptions
{
    public const string DefaultConfigPath = "/etc/workspaces/workspacesd.json";

    /// <summary>SQLite database, image cache and per-workspace directories live here.</summary>
    [Required]
    public string StateDir { get; set; } = "/var/lib/workspaces";

    /// <summary>The local API's Unix socket.</summary>
    [Required]
    public string Socket { get; set; } = "/run/workspaces/workspaces.sock";

    /// <summary>
    /// Where each running daemon locks its slot of guest uids (GuestUidSlot). Host-wide: every daemon on the
    /// host must use the same directory, or two could hand out the same uids unnoticed.
    /// </summary>
    [Required]
    public string GuestUidLocks { get; set; } = "/run/workspaces-guest-uids";

    /// <summary>Members of this group (and root) manage everything; the socket belongs to it.</summary>
    public string SocketGroup { get; set; } = "workspaces";

    /// <summary>Octal mode of the socket; 0660 keeps everyone but root and the group out at connect time.</summary>
    [RegularExpression(@"\A0?[0-7]{3}\z", ErrorMessage = "socketMode must be an octal mode such as 0660")]
    public string SocketMode { get; set; } = "0660";

    /// <summary>Admit any local user to act on their own workspaces (the socket is then made 0666).</summary>
    public bool AllowUsers { get; set; }

    /// <summary>auto (probe KVM, fall back to TCG), kvm or tcg.</summary>
    [RegularExpression(@"\A(auto|kvm|tcg)\z", ErrorMessage = "accelerator must be auto, kvm or tcg")]
    public string Accelerator { get; set; } = "auto";

    /// <summary>How long the KVM probe guest may take before KVM is judged unusable.</summary>
    [Range(0.5, 300)]
    public double KvmProbeTimeoutSeconds { get; set; } = 5;

    /// <summary>
    /// The named guest CPU model new workspaces get (issue #13 item 6): the same on every host, so a workspace can move.
    /// "host" (KVM's passthrough) is only for a workspace that opts out of moves with `--cpu host`.
    /// </summary>
    public string CpuModel { get; set; } = Hypervisor.CpuModels.Default;

    /// <summary>
    /// The CPU models this host offers, instead of what QEMU lists (`-cpu help`). For tests (a destination that
    /// lacks a model) and for an operator who wants to offer fewer; null: QEMU's list.
    /// </summary>
    public string[]? OfferedCpuModels { get; set; }

    public string QemuBinary { get; set; } = "qemu-system-x86_64";
    public string QemuImgBinary { get; set; } = "qemu-img";
    public string DnsmasqBinary { get; set; } = "dnsmasq";

    /// <summary>How long a stop waits for the guest to power off after ACPI powerdown before forcing it.</summary>
    [Range(0, 3600)]
    public double StopTimeoutSeconds { get; set; } = 30;

    [Range(1, 256)]
    public int DefaultVcpus { get; set; } = 1;
    [Range(32, 4194304)]
    public int DefaultMemoryMiB { get; set; } = 256;

    /// <summary>auto (systemd if it runs the host, else cgroups written directly) or none.</summary>
    [RegularExpression(@"\A(auto|none)\z", ErrorMessage = "resourceControl must be auto or none")]
    public string ResourceControl { get; set; } = "auto";

    /// <summary>Where the cgroup hierarchies are mounted.</summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>What a workspace may ask for, and how far the host may be committed.</summary>
    [ValidateObjectMembers]
    public PolicyOptions Policy { get; set; } = new();

    /// <summary>The peer listener and how peers are reached.</summary>
    [ValidateObjectMembers]
    public PeerOptions Peers { get; set; } = new();

    /// <summary>The signed audit log, its retention and the journal copy.</summary>
    [ValidateObjectMembers]
    public AuditOptions Audit { get; set; } = new();

    /// <summary>Violation counters and the quarantine policy (issue #14).</summary>
    [ValidateObjectMembers]
    public DetectionOptions Detection { get; set; } = new();

    /// <summary>Open API connections one uid may hold at once (root has no cap).</summary>
    [Range(1, 100000)]
    public int MaxConnectionsPerUser { get; set; } = 64;

    /// <summary>How many long operations run at once; more wait their turn.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentOperations { get; set; } = 8;
}
