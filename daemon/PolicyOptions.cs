using System.ComponentModel.DataAnnotations;

namespace Workspaces.Daemon;

/// <summary>
/// The host's offer to workspaces: the largest shape one may have, and how far the host's CPUs and
/// memory may be committed. Admission never commits more than capacity × overcommit.
/// </summary>
public sealed class PolicyOptions
{
    [Range(1, 256)]
    public int MaxVcpus { get; set; } = 8;
    [Range(32, 4194304)]
    public int MaxMemoryMiB { get; set; } = 16384;

    /// <summary>
    /// The least memory a workspace may have. Below about 96 MiB the Debian cloud kernel's guest is
    /// OOM-killed or loops silently; the host refuses such a spec rather than run it. At least 32.
    /// </summary>
    [Range(32, 4194304)]
    public int MinMemoryMiB { get; set; } = 96;

    /// <summary>vCPUs of running workspaces per host CPU.</summary>
    [Range(0.1, 64)]
    public double CpuOvercommit { get; set; } = 4;

    /// <summary>Guest memory of running workspaces per MiB the host can give (1: none).</summary>
    [Range(0.1, 16)]
    public double MemoryOvercommit { get; set; } = 1;

    /// <summary>Memory kept for the host itself, outside what workspaces may commit.</summary>
    [Range(0, 4194304)]
    public int ReservedMemoryMiB { get; set; } = 1024;

    /// <summary>Capacity overrides, for tests and for hosts shared with other work (0: use the machine's).</summary>
    [Range(0, 4096)]
    public int CapacityCpus { get; set; }
    [Range(0, 1073741824)]
    public int CapacityMemoryMiB { get; set; }

    /// <summary>
    /// Host ports ordinary users may forward to their workspaces, "LOW-HIGH" (at least 1024); empty:
    /// none. Admins may forward any port.
    /// </summary>
    [RegularExpression(@"\A(\d{1,5}-\d{1,5})?\z", ErrorMessage = "policy.userPortRange must be empty or FIRST-LAST, e.g. 20000-20999")]
    public string UserPortRange { get; set; } = "";

    /// <summary>The largest data disk a workspace may be given (ws disk add --size), in GiB. Files are sparse; this bounds what a guest can fill.</summary>
    [Range(1, 1048576)]
    public int MaxDataDiskGiB { get; set; } = 256;

    /// <summary>Workspaces may only be made from images with a valid signature by a trusted signer.</summary>
    public bool RequireSignedImages { get; set; }

    /// <summary>With RequireSignedImages: the trusted signers (by trust-store name, "host" for this host) that count; empty: any.</summary>
    public string[] TrustedSigners { get; set; } = [];
}
