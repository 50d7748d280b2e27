using System.Collections.Concurrent;
using System.Net;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Network;

/// <summary>
/// Spanning networks (issue #17): the same network (name, subnet, VNI) made on each member host, its
/// bridges joined by VXLAN inside the host's one WireGuard tunnel. Each host leases addresses from
/// its own slice of the subnet: the member hosts ordered by tunnel address (which every host derives
/// alike from the WireGuard keys), the subnet cut into that many equal parts. So no two hosts hand
/// out the same address without a coordinator, and a host's DHCP answers only its own guests. The
/// gateway address is on every member's bridge (an anycast gateway: each guest reaches its own host's).
/// </summary>
public sealed partial class NetworkService
{
    private readonly ConcurrentDictionary<string, (long From, long To)> _slices = new(StringComparer.Ordinal);

    private static void CheckSpan(CreateNetworkRequest request, NetworkRow row)
    {
        if (request.Vni is null && request.Span is null) return;
        if (request.Vni is not { } vni || vni < 1 || vni > SpanPath.MaxVni)
            throw WorkspacesException.BadRequest($"a spanning network needs a VNI from 1 to {SpanPath.MaxVni} (--vni), the same on every member host");
        if (request.Span is not { Length: > 0 } span)
            throw WorkspacesException.BadRequest("a spanning network names the peers it spans (--span PEER[,PEER])");
        foreach (var peer in span) Names.CheckPeer(peer);
        row.Vni = vni;
        row.Span = string.Join(',', span.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
    }

    /// <summary>The MTU a NIC on this network gets (and its guest is told), or null for the host's usual 1500.</summary>
    public int? MtuOf(string network) => Get(network).Spanning ? SpanPath.Mtu : null;

    /// <summary>
    /// The tunnel has every spanning network's peers, each bridge its VXLAN to its members, and each
    /// network's address slice is known. Called when a spanning network is made, at daemon start, and
    /// by the peer monitor every check (which restarts a wireguard-go that died).
    /// </summary>
    private async Task SpanAllAsync(CancellationToken ct)
    {
        var spanning = networks.List().Where(n => n.Spanning).ToList();
        if (spanning.Count == 0) return;
        var members = await spanPeers.ResolveAsync(spanning.SelectMany(n => n.SpanPeers).ToList(), ct);
        await tunnel.EnsureAsync(policy.CurrentValue.Peers.WireGuardInterface, members.PrivateKey, members.LocalTunnel, [.. members.Peers.Values], ct);
        foreach (var network in spanning)
        {
            var remotes = network.SpanPeers.Select(p => members.Peers[p].TunnelAddress).ToList();
            await spanLinks.EnsureAsync(network.Bridge, network.Vni!.Value, members.LocalTunnel, remotes, ct);
            _slices[network.Name] = Slice(Subnet.Parse(network.Subnet), members.LocalTunnel, remotes);
        }
    }

    /// <summary>The peer monitor's tick: spanning networks stay up; a failure is logged, and tried again next tick.</summary>
    public async Task SuperviseAsync(CancellationToken ct)
    {
        try
        {
            await SpanAllAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            SpanLog.NotSpanned(logger, e.Message);
        }
    }

    private async Task UnspanAsync(int vni, CancellationToken ct)
    {
        await spanLinks.DeleteAsync(vni, ct);
        if (networks.List().Any(n => n.Spanning)) await SpanAllAsync(ct); // the tunnel keeps the peers still spanned
        else await tunnel.StopAsync(policy.CurrentValue.Peers.WireGuardInterface, ct);
    }

    /// <summary>This host's slice of a spanning network, as offsets into its subnet; the whole subnet for a host's own network.</summary>
    private (long From, long To) SliceOf(NetworkRow network, Subnet subnet)
    {
        if (!network.Spanning) return (2, subnet.Size + 1);
        return _slices.TryGetValue(network.Name, out var slice) ? slice
            : throw WorkspacesException.Conflict($"network '{network.Name}' spans {network.Span} but is not connected to them yet (see the daemon's log); try again");
    }

    /// <summary>Host offsets 2..Size+1 cut into as many equal parts as member hosts; this host's part is its tunnel address's rank.</summary>
    public static (long From, long To) Slice(Subnet subnet, IPAddress local, IReadOnlyList<IPAddress> remotes)
    {
        var ordered = remotes.Append(local).Distinct().OrderBy(a => BitConverter.ToUInt32(a.GetAddressBytes().Reverse().ToArray())).ToList();
        int index = ordered.IndexOf(local);
        long per = subnet.Size / ordered.Count;
        if (per < 1) throw WorkspacesException.BadRequest($"subnet {subnet} is too small to share among {ordered.Count} hosts");
        long from = 2 + index * per;
        return (from, from + per - 1);
    }
}
