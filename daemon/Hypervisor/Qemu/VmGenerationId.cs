using System.Security.Cryptography;
using System.Text;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// The GUID of a guest's vmgenid device (the VM generation ID that Hyper-V, Firecracker and Linux's vmgenid driver
/// use to tell a guest it was cloned: Linux reseeds its RNG when it changes). It is derived from the workspace's id,
/// so it stays the same across restarts, stateful saves and moves (the same machine goes on) and differs for every
/// copy and template clone (each has its own id). QEMU does not migrate the GUID: after an incoming migration it
/// writes the destination's own into guest memory and notifies the guest if it differs (vmgenid_post_load).
/// </summary>
public static class VmGenerationId
{
    public static string For(string workspaceId)
    {
        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes("workspaces-vmgenid:" + workspaceId));
        Span<byte> bytes = digest.AsSpan(0, 16);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80); // RFC 9562 version 8 (custom: a hash of our own name)
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // the RFC variant
        string hex = Convert.ToHexStringLower(bytes);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }
}
