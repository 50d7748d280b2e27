using System.Security.Cryptography;

namespace Workspaces.Daemon.Network;

/// <summary>Guest MACs: QEMU's locally administered 52:54:00 prefix and three random bytes, unique per network (the nics table's constraint decides).</summary>
public static class MacAddresses
{
    public static string New() => $"52:54:00:{string.Join(':', RandomNumberGenerator.GetBytes(3).Select(b => b.ToString("x2")))}";
}
