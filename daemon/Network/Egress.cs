using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Network;

/// <summary>
/// An egress allowlist in text: space-separated entries CIDR[:PORT,PORT...], e.g.
/// "10.9.0.0/24:80,443 192.0.2.7". Ports apply to TCP and UDP; no ports means any.
/// </summary>
public sealed record Egress(string Cidr, int[] Ports)
{
    public static IReadOnlyList<Egress> Parse(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ParseOne).ToList();

    /// <summary>Checks and normalizes a list (sorted ports, one space between entries).</summary>
    public static string Normalize(string text) =>
        string.Join(' ', Parse(text).Select(e => e.Ports.Length == 0 ? e.Cidr : $"{e.Cidr}:{string.Join(',', e.Ports)}"));

    private static Egress ParseOne(string entry)
    {
        var (cidr, ports) = entry.IndexOf(':') is var colon and >= 0 ? (entry[..colon], entry[(colon + 1)..]) : (entry, "");
        string withPrefix = cidr.Contains('/') ? cidr : cidr + "/32";
        if (!Subnet.TryParseIPv4(withPrefix, out var network))
            throw WorkspacesException.BadRequest($"egress entry '{entry}': '{cidr}' is not an IPv4 address or CIDR with no host bits set");
        var list = ports.Length == 0 ? [] : ports.Split(',').Select(p =>
            int.TryParse(p, out int port) && port is > 0 and < 65536 ? port
                : throw WorkspacesException.BadRequest($"egress entry '{entry}': '{p}' is not a port (1-65535)")).Distinct().Order().ToArray();
        return new Egress(network.ToString(), list);
    }
}
