using System.Security.Cryptography;
using System.Text;

namespace Workspaces.Daemon.Images;

/// <summary>
/// An image's id: SHA-256 over a canonical listing of its parts' hashes, so the same parts always
/// give the same id and any change to a part or the command line gives another.
/// </summary>
public static class ImageFingerprint
{
    public static string Compute(string? kernel, string? initrd, string? disk, string? diskFormat, string? cmdline, string? state = null)
    {
        var canonical = new StringBuilder("workspaces-image-v1\n");
        if (kernel is not null) canonical.Append("kernel ").Append(kernel).Append('\n');
        if (initrd is not null) canonical.Append("initrd ").Append(initrd).Append('\n');
        if (disk is not null) canonical.Append("disk ").Append(disk).Append(' ').Append(diskFormat).Append('\n');
        if (cmdline is not null) canonical.Append("cmdline ").Append(cmdline).Append('\n');
        if (state is not null) canonical.Append("state ").Append(state).Append('\n'); // a template: its RAM is part of what it is
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }
}
