using System.Net;
using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Network;

/// <summary>
/// What makes a network's bridge span hosts (issue #17): a VXLAN device with the network's own VNI,
/// plugged into the bridge, sourced from this host's tunnel address, so its UDP rides inside
/// WireGuard and only WireGuard is seen on the underlay. Broadcast and unknown unicast go to every
/// other member host (head-end replication: one all-zero FDB entry per remote tunnel address, no
/// multicast needed in the tunnel); the kernel learns which host holds which guest's MAC from what
/// arrives. The bridge, the VXLAN device and the taps all get the network's one recorded MTU.
/// </summary>
public sealed partial class SpanLinks(CommandRunner runner, ILogger<SpanLinks> logger)
{
    private const string Flood = "00:00:00:00:00:00";

    /// <summary>The bridge carries VNI vni to exactly these remote tunnel addresses (idempotent).</summary>
    public async Task EnsureAsync(string bridge, int vni, IPAddress local, IReadOnlyList<IPAddress> remotes, int mtu, CancellationToken ct)
    {
        if (vni is < 1 or > SpanPath.MaxVni) throw new NetworkException($"VNI {vni} is outside 1..{SpanPath.MaxVni}");
        string device = SpanPath.VxlanDevice(vni);
        if (!Links.Exists(device))
            await IpAsync(ct, "ip", "link", "add", device, "type", "vxlan", "id", vni.ToString(), "local", local.ToString(),
                "dstport", SpanPath.VxlanPort.ToString());
        await IpAsync(ct, "ip", "link", "set", device, "mtu", mtu.ToString());
        await IpAsync(ct, "ip", "link", "set", bridge, "mtu", mtu.ToString());
        await IpAsync(ct, "ip", "link", "set", device, "master", bridge, "up");

        var shown = await runner.RunAsync("bridge", ["fdb", "show", "dev", device], ct);
        if (!shown.Succeeded) throw new NetworkException($"bridge fdb show dev {device}: {shown.Stderr.Trim()}", shown.Failure());
        var have = FloodTargets(shown.Stdout).ToHashSet();
        var want = remotes.Select(r => r.ToString()).ToHashSet();
        foreach (var gone in have.Except(want)) await IpAsync(ct, "bridge", "fdb", "del", Flood, "dev", device, "dst", gone);
        foreach (var added in want.Except(have)) await IpAsync(ct, "bridge", "fdb", "append", Flood, "dev", device, "dst", added);
        TunnelLog.Spanned(logger, vni, bridge, string.Join(", ", want.Order()));
    }

    public async Task DeleteAsync(int vni, CancellationToken ct)
    {
        string device = SpanPath.VxlanDevice(vni);
        if (Links.Exists(device)) await IpAsync(ct, "ip", "link", "del", device);
    }

    /// <summary>The remote tunnel addresses of the all-zero (flood) entries in `bridge fdb show dev VXLAN`.</summary>
    public static IEnumerable<string> FloodTargets(string stdout)
    {
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int dst = Array.IndexOf(words, "dst");
            if (words.Length > 0 && words[0] == Flood && dst > 0 && dst + 1 < words.Length) yield return words[dst + 1];
        }
    }

    private async Task IpAsync(CancellationToken ct, string tool, params string[] args)
    {
        var result = await runner.RunAsync(tool, args, ct);
        if (!result.Succeeded) throw new NetworkException($"{tool} {string.Join(' ', args)}: {result.Stderr.Trim()}", result.Failure());
    }
}
