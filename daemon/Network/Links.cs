using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Network;

/// <summary>
/// Bridges and taps, through iproute2 (`ip`), the standard interface for links: a handful of calls
/// per workspace start, where a netlink implementation would be a few hundred lines to own.
/// The daemon makes each guest's tap (QEMU runs without the capability to); this plugs it into its bridge.
/// </summary>
public sealed class Links(CommandRunner runner)
{
    public static bool Exists(string name) => Directory.Exists(Path.Combine("/sys/class/net", name));

    /// <summary>A link's MTU now, or null when it does not exist.</summary>
    public static int? Mtu(string name) =>
        File.Exists(Path.Combine("/sys/class/net", name, "mtu")) && int.TryParse(File.ReadAllText(Path.Combine("/sys/class/net", name, "mtu")).Trim(), out int mtu)
            ? mtu : null;

    /// <summary>The bridge exists, holds the gateway address and is up (idempotent).</summary>
    public async Task EnsureBridgeAsync(string bridge, string gatewayCidr, CancellationToken ct)
    {
        if (!Exists(bridge)) await IpAsync(ct, "link", "add", "name", bridge, "type", "bridge");
        await IpAsync(ct, "addr", "replace", gatewayCidr, "dev", bridge);
        await IpAsync(ct, "link", "set", bridge, "up");
    }

    public async Task DeleteAsync(string name, CancellationToken ct)
    {
        if (Exists(name)) await IpAsync(ct, "link", "del", name);
    }

    /// <summary>Plugs a tap into its bridge; mtu, for a spanning network's smaller frames (SpanPath.Mtu).</summary>
    public Task PlugAsync(string tap, string bridge, CancellationToken ct, int? mtu = null) => mtu is { } size
        ? IpAsync(ct, "link", "set", tap, "mtu", size.ToString(), "master", bridge, "up")
        : IpAsync(ct, "link", "set", tap, "master", bridge, "up");

    private async Task IpAsync(CancellationToken ct, params string[] args)
    {
        var result = await runner.RunAsync("ip", args, ct);
        if (!result.Succeeded) throw new NetworkException($"ip {string.Join(' ', args)}: {result.Stderr.Trim()}", result.Failure());
    }
}
