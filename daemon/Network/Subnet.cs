using System.Net;
using System.Net.Sockets;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Network;

/// <summary>An IPv4 subnet of a workspace network: the gateway is its first host, workspaces get the rest.</summary>
public sealed record Subnet(IPNetwork Network)
{
    public static Subnet Parse(string cidr)
    {
        if (!TryParseIPv4(cidr, out var network))
            throw WorkspacesException.BadRequest($"'{cidr}' is not an IPv4 subnet in CIDR form (e.g. 10.87.0.0/24) with no host bits set");
        if (network.PrefixLength is < 8 or > 29)
            throw WorkspacesException.BadRequest($"subnet {cidr}: the prefix must be /8 to /29 (a gateway and at least one workspace)");
        return new Subnet(network);
    }

    /// <summary>An IPv4 network in CIDR form with no host bits set (10.0.0.1/24 is a typo for an address, not a network).</summary>
    public static bool TryParseIPv4(string cidr, out IPNetwork network)
    {
        network = default;
        if (!IPNetwork.TryParse(cidr, out var parsed) || parsed.BaseAddress.AddressFamily != AddressFamily.InterNetwork) return false;
        uint address = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(parsed.BaseAddress.GetAddressBytes());
        uint hostBits = parsed.PrefixLength == 32 ? 0 : uint.MaxValue >> parsed.PrefixLength;
        if ((address & hostBits) != 0 || cidr.Split('/')[0] != parsed.BaseAddress.ToString()) return false;
        network = parsed;
        return true;
    }

    public int PrefixLength => Network.PrefixLength;

    public IPAddress Gateway => At(1);

    public IPAddress Netmask => new(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(uint.MaxValue << (32 - PrefixLength))));

    /// <summary>Addresses a workspace may have: neither the network, the gateway nor the broadcast address.</summary>
    public IEnumerable<IPAddress> Hosts()
    {
        long count = 1L << (32 - PrefixLength);
        for (long i = 2; i < count - 1; i++) yield return At(i);
    }

    /// <summary>How many addresses workspaces may have at once: all but the network, the gateway and the broadcast address.</summary>
    public long Size => (1L << (32 - PrefixLength)) - 3;

    /// <summary>
    /// The lowest address not in use, or null when every one is. Works on offsets, not on a list of
    /// every host, so a /16 (or a /8) costs what its leases cost, not what its size does.
    /// </summary>
    public IPAddress? FirstFree(IEnumerable<string> taken) => FirstFree(taken, 2, (1L << (32 - PrefixLength)) - 2);

    /// <summary>The lowest address not in use between two offsets (inclusive): a spanning network's slice for one host.</summary>
    public IPAddress? FirstFree(IEnumerable<string> taken, long from, long to)
    {
        uint baseValue = ToUInt(Network.BaseAddress);
        var used = taken.Select(a => (long)ToUInt(IPAddress.Parse(a)) - baseValue).Where(o => o >= from).Order().ToList();
        long candidate = from, last = Math.Min(to, (1L << (32 - PrefixLength)) - 2);
        foreach (var offset in used)
        {
            if (offset > candidate) break;
            if (offset == candidate) candidate++;
        }
        return candidate <= last ? At(candidate) : null;
    }

    /// <summary>An address's offset from the subnet's base (what FirstFree and a host's slice count in).</summary>
    public long OffsetOf(string address) => (long)ToUInt(IPAddress.Parse(address)) - ToUInt(Network.BaseAddress);

    private static uint ToUInt(IPAddress address) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());

    private IPAddress At(long offset)
    {
        byte[] b = Network.BaseAddress.GetAddressBytes();
        uint value = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) + (uint)offset;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    public override string ToString() => Network.ToString();
}
