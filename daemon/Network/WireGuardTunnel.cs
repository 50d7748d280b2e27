using System.Net;
using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Network;

/// <summary>
/// The host's one WireGuard interface for spanning networks (issue #17), run by Debian's userspace
/// wireguard-go (this kernel has no WireGuard module) and configured with wg, both through the
/// CommandRunner. wireguard-go makes the TUN device before it daemonizes, so when its first process
/// has exited the interface exists; the daemonized server lives exactly as long as that interface
/// (deleting it ends the server, the server dying takes the TUN with it). So "is it alive" is "does
/// the interface exist", and EnsureAsync, called again, restarts a server that died and configures
/// it from scratch: supervision without a pid file to trust.
/// </summary>
public sealed partial class WireGuardTunnel(CommandRunner runner, ILogger<WireGuardTunnel> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// The interface runs with this key and tunnel address, and has exactly these peers (each allowed
    /// its tunnel address alone). Idempotent; the private key goes to wg on stdin, never on a command line.
    /// </summary>
    public async Task EnsureAsync(string iface, string privateKey, IPAddress tunnelAddress, IReadOnlyList<WireGuardPeer> peers,
        int mtu, CancellationToken ct)
    {
        if (peers.FirstOrDefault(p => p.TunnelAddress.Equals(tunnelAddress)) is { } clash)
            throw new NetworkException($"peer {clash.Endpoint} has this host's tunnel address {tunnelAddress}: the two WireGuard keys hash alike; regenerate one host's wireguard.key");
        await _gate.WaitAsync(ct);
        try
        {
            if (!Links.Exists(iface))
            {
                TunnelLog.Starting(logger, iface);
                await MustAsync(runner.RunAsync("wireguard-go", [iface], ct), "wireguard-go", iface);
                await MustAsync(runner.RunAsync("wg", ["set", iface, "private-key", "/dev/stdin", "listen-port", SpanPath.WireGuardPort.ToString()], ct,
                    stdin: privateKey + "\n"), "wg set private-key", iface);
                await MustAsync(runner.RunAsync("ip", ["addr", "replace", $"{tunnelAddress}/{TunnelAddress.PrefixLength}", "dev", iface], ct), "ip addr", iface);
                await MustAsync(runner.RunAsync("ip", ["link", "set", iface, "mtu", mtu.ToString(), "up"], ct), "ip link set", iface);
            }
            // The underlay's MTU may have changed since: the tunnel follows it.
            else if (Links.Mtu(iface) != mtu)
                await MustAsync(runner.RunAsync("ip", ["link", "set", iface, "mtu", mtu.ToString()], ct), "ip link set mtu", iface);
            await SyncPeersAsync(iface, peers, ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Ends the tunnel: deleting the interface ends wireguard-go.</summary>
    public async Task StopAsync(string iface, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (Links.Exists(iface)) await MustAsync(runner.RunAsync("ip", ["link", "del", iface], ct), "ip link del", iface);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task SyncPeersAsync(string iface, IReadOnlyList<WireGuardPeer> peers, CancellationToken ct)
    {
        var shown = Must(await runner.RunAsync("wg", ["show", iface, "peers"], ct), "wg show", iface);
        var wanted = peers.Select(p => p.PublicKey).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in ParsePeers(shown.Stdout).Where(k => !wanted.Contains(k)))
            await MustAsync(runner.RunAsync("wg", ["set", iface, "peer", gone, "remove"], ct), "wg set peer remove", iface);
        foreach (var peer in peers)
            // Keepalive: a host behind NAT stays reachable, and a restarted peer is found again within 25 s.
            await MustAsync(runner.RunAsync("wg", ["set", iface, "peer", peer.PublicKey,
                "endpoint", $"{peer.Endpoint}:{SpanPath.WireGuardPort}", "allowed-ips", $"{peer.TunnelAddress}/32",
                "persistent-keepalive", "25"], ct), "wg set peer", iface);
    }

    /// <summary>`wg show IF peers` prints one base64 public key a line.</summary>
    public static IEnumerable<string> ParsePeers(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static async Task MustAsync(Task<CommandResult> run, string what, string iface) => Must(await run, what, iface);

    private static CommandResult Must(CommandResult result, string what, string iface) =>
        result.Succeeded ? result : throw new NetworkException($"{what} ({iface}): {result.Stderr.Trim()}", result.Failure());
}
