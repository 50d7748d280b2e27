using System.Text.RegularExpressions;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Core;

/// <summary>
/// What a name may look like. Workspace names are hostnames (they become unit and machine names).
/// Patterns end in \z: `$` would also match before a final newline, letting "web1\n" in.
/// </summary>
public static partial class Names
{
    [GeneratedRegex(@"\A[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\z")]
    private static partial Regex WorkspaceName();

    [GeneratedRegex(@"\A[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}\z")]
    private static partial Regex ImageName();

    [GeneratedRegex(@"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\z")]
    private static partial Regex NetworkName();

    [GeneratedRegex(@"\A[a-zA-Z0-9][a-zA-Z0-9._@-]{0,63}\z")]
    private static partial Regex SignerName();

    [GeneratedRegex(@"\A[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?\z")]
    private static partial Regex PeerName();

    [GeneratedRegex(@"\A[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?\z")]
    private static partial Regex DiskName();

    /// <summary>
    /// A caller's string as an error message may quote it: at most 64 characters, control characters
    /// escaped, so a huge or multi-line input is never echoed back whole.
    /// </summary>
    public static string Quote(string? text)
    {
        text ??= "";
        var shown = new System.Text.StringBuilder("'");
        foreach (char c in text.Length > 64 ? text[..64] : text)
            shown.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        shown.Append(text.Length > 64 ? $"...' ({text.Length} characters)" : "'");
        return shown.ToString();
    }

    /// <summary>Network names become bridge names (wsbr-NAME), and a Linux interface name has at most 15 characters.</summary>
    public static void CheckNetwork(string name)
    {
        if (!NetworkName().IsMatch(name))
            throw WorkspacesException.BadRequest($"invalid network name {Quote(name)}: use 1-10 lowercase letters, digits and inner hyphens");
    }

    public static void CheckWorkspace(string name)
    {
        if (!WorkspaceName().IsMatch(name))
            throw WorkspacesException.BadRequest(
                $"invalid workspace name {Quote(name)}: use 1-63 letters, digits and inner hyphens (a hostname)");
    }

    /// <summary>
    /// A data disk's name is also its virtio serial, which the guest reads (/sys/block/*/serial,
    /// /dev/disk/by-id/virtio-NAME), and virtio-blk carries at most 20 bytes of it; it is also part of
    /// a file name and of QEMU node and device ids, so no dots, slashes or commas.
    /// </summary>
    public static void CheckDisk(string name)
    {
        if (!DiskName().IsMatch(name))
            throw WorkspacesException.BadRequest($"invalid disk name {Quote(name)}: use 1-20 lowercase letters, digits and inner hyphens (the guest sees it as the disk's serial)");
    }

    public static void CheckImage(string name)
    {
        if (!ImageName().IsMatch(name))
            throw WorkspacesException.BadRequest(
                $"invalid image name {Quote(name)}: use up to 128 letters, digits, '.', '_' and '-', starting with a letter or digit");
    }

    /// <summary>A trusted signer's local name ("alice", "ci@example"): a label for a key, never a path or a unit.</summary>
    public static void CheckSigner(string name)
    {
        if (!SignerName().IsMatch(name))
            throw WorkspacesException.BadRequest(
                $"invalid signer name {Quote(name)}: use up to 64 letters, digits, '.', '_', '@' and '-', starting with a letter or digit");
    }

    /// <summary>A peer's name is a host name: it shows in `ws list --peers` and in `ws --peer NAME`.</summary>
    public static void CheckPeer(string name)
    {
        if (!PeerName().IsMatch(name ?? ""))
            throw WorkspacesException.BadRequest($"invalid peer name {Quote(name)}: use 1-63 lowercase letters, digits, '.' and inner hyphens (a host name)");
    }
}
