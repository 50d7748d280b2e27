using System.Net;
using System.Security.Cryptography;

namespace Workspaces.Daemon.Network;

/// <summary>
/// A host's address inside the WireGuard tunnel, in 100.64.0.0/16 (shared address space, RFC 6598:
/// not a workspace subnet's usual range). It is derived from the host's WireGuard public key, so every
/// host computes every other's without asking a coordinator and without a schema for it: there is no
/// host that owns a federation. Two hosts of 65,534 slots collide with odds ~n²/131,068 (1 in 15,000
/// for 3 hosts); WireGuardTunnel refuses a peer whose address is its own rather than route wrongly.
/// </summary>
public static class TunnelAddress
{
    public const string Prefix = "100.64.0.0/16";
    public const int PrefixLength = 16;

    public static IPAddress Of(string wireGuardPublicKey)
    {
        byte[] hash = SHA256.HashData(Convert.FromBase64String(wireGuardPublicKey));
        // Offsets 1..65534: neither the network nor the broadcast address of the /16.
        int offset = 1 + (hash[0] << 8 | hash[1]) % 65534;
        return new IPAddress([100, 64, (byte)(offset >> 8), (byte)offset]);
    }
}
