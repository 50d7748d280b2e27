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

    private async Task CheckSpanAsync(CreateNetworkRequest request, NetworkRow row, CancellationToken ct)
    {
        if (request.Vni is null && request.Span is null && request.Mtu is null) return;
        if (request.Vni is not { } vni || vni < 1 || vni > SpanPath.MaxVni)
            throw WorkspacesException.BadRequest($"a spanning network needs a VNI from 1 to {SpanPath.MaxVni} (--vni), the same on every member host");
        if (request.Span is not { Length: > 0 } span)
            throw WorkspacesException.BadRequest("a spanning network names the peers it spans (--span PEER[,PEER])");
        foreach (var peer in span) Names.CheckPeer(peer);
        row.Vni = vni;
        row.Span = string.Join(',', span.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        // One L2 segment has one MTU: the one asked for (the host that made the span decided it for every
        // host), else what this host finds. A host whose underlay cannot carry it refuses: its guests'
        // full-size frames would vanish in its tunnel.
        int fits = await SpanMtuAsync(span, ct);
        if (request.Mtu is { } mtu && (mtu < SpanPath.MinMtu || mtu > SpanPath.SpanMtu(SpanPath.MaxUnderlayMtu)))
            throw WorkspacesException.BadRequest($"a spanning network's MTU is from {SpanPath.MinMtu} to {SpanPath.SpanMtu(SpanPath.MaxUnderlayMtu)}");
        if (request.Mtu > fits)
            throw WorkspacesException.Conflict($"the spanning network's MTU is {request.Mtu}, but this host's underlay toward {string.Join(", ", span)} carries at most {fits} inside WireGuard and VXLAN (underlay less {SpanPath.WireGuardOverhead + SpanPath.VxlanOverhead}); raise this host's underlay MTU, or make the span over hosts that all carry it");
        if (fits < SpanPath.MinMtu)
            throw WorkspacesException.Conflict($"this host's underlay toward {string.Join(", ", span)} leaves {fits} bytes inside WireGuard and VXLAN, below IPv6's {SpanPath.MinMtu}");
        row.Mtu = request.Mtu ?? fits;
        // This host's share of the addresses: the one ceded to it by the host growing the span, else cut from the tunnel-address order.
        var subnet = Subnet.Parse(row.Subnet);
        var (from, to) = request.Slice is { } given ? CheckSlice(given, subnet) : await CutSliceAsync(subnet, span, ct);
        (row.SliceFrom, row.SliceTo) = (from, to);
    }

    private async Task<(long From, long To)> CutSliceAsync(Subnet subnet, IReadOnlyCollection<string> span, CancellationToken ct)
    {
        var members = await spanPeers.ResolveAsync(span, ct);
        return Slice(subnet, members.LocalTunnel, span.Distinct(StringComparer.Ordinal).Select(p => members.Peers[p].TunnelAddress).ToList());
    }

    private static (long From, long To) CheckSlice(int[] slice, Subnet subnet) => slice is [var from, var to] && from >= 2 && from <= to && to <= subnet.Size + 1
        ? (from, to)
        : throw WorkspacesException.BadRequest($"a slice is [first, last] host offsets from 2 to {subnet.Size + 1} of subnet {subnet}");

    /// <summary>
    /// The MTU a span over this host and these peers can have: the smallest underlay among this host's
    /// routes to each peer and what each peer says it has toward this host, less WireGuard's and VXLAN's headers.
    /// </summary>
    public async Task<int> SpanMtuAsync(IReadOnlyCollection<string> peers, CancellationToken ct)
    {
        var members = await spanPeers.ResolveAsync(peers, ct);
        int underlay = await LocalUnderlayAsync(members, ct);
        foreach (var peer in members.Peers.Values) underlay = Math.Min(underlay, peer.UnderlayMtu ?? SpanPath.DefaultUnderlayMtu);
        return SpanPath.SpanMtu(underlay);
    }

    /// <summary>The smallest MTU of this host's routes to the peers' underlay addresses.</summary>
    private async Task<int> LocalUnderlayAsync(SpanMembers members, CancellationToken ct)
    {
        int underlay = SpanPath.MaxUnderlayMtu;
        foreach (var peer in members.Peers.Values) underlay = Math.Min(underlay, await underlayPaths.MtuTowardAsync(peer.Endpoint, ct));
        return members.Peers.Count == 0 ? SpanPath.DefaultUnderlayMtu : underlay;
    }

    /// <summary>The MTU a NIC on this network gets (and its guest is told), or null for the host's usual 1500.</summary>
    public int? MtuOf(string network) => Get(network) is { Spanning: true } row ? row.SpanMtu : null;

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
        // The tunnel's MTU follows this host's underlay; each span's recorded MTU must fit inside it.
        int wireGuardMtu = SpanPath.WireGuardMtu(await LocalUnderlayAsync(members, ct));
        foreach (var tooLarge in spanning.Where(n => n.SpanMtu + SpanPath.VxlanOverhead > wireGuardMtu))
            SpanLog.UnderlayShrank(logger, tooLarge.Name, tooLarge.SpanMtu, wireGuardMtu);
        await tunnel.EnsureAsync(policy.CurrentValue.Peers.WireGuardInterface, members.PrivateKey, members.LocalTunnel, [.. members.Peers.Values],
            wireGuardMtu, ct);
        foreach (var network in spanning)
        {
            var remotes = network.SpanPeers.Select(p => members.Peers[p].TunnelAddress).ToList();
            await spanLinks.EnsureAsync(network.Bridge, network.Vni!.Value, members.LocalTunnel, remotes, network.SpanMtu, ct);
            // Recorded shares stay; a span recorded before shares were has its cut again.
            if (network.SliceFrom is null) _slices[network.Name] = Slice(Subnet.Parse(network.Subnet), members.LocalTunnel, remotes);
        }
    }

    /// <summary>
    /// A spanning network now reaches exactly these peers (it grows to a host that joins it later): the
    /// tunnel gets the new host as a peer and the VXLAN floods to it too. This host's share of the
    /// addresses stays, unless slice gives a smaller one (the host growing the span cedes the rest to the
    /// new hosts); every address it has leased must lie in it, else it refuses and nothing changes, so
    /// no two hosts ever lease the same address.
    /// </summary>
    public async Task<NetworkRow> SetSpanAsync(string name, IReadOnlyList<string>? span, int[]? slice, CancellationToken ct)
    {
        var network = Get(name);
        if (!network.Spanning) throw WorkspacesException.Conflict($"network '{name}' is this host's own, not a spanning network: it cannot be spanned later");
        if (span is not { Count: > 0 }) throw WorkspacesException.BadRequest("a spanning network names the peers it spans");
        foreach (var peer in span) Names.CheckPeer(peer);
        string joined = string.Join(',', span.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        var subnet = Subnet.Parse(network.Subnet);
        var share = SliceOf(network, subnet);
        var (from, to) = slice is null ? share : CheckSlice(slice, subnet);
        if (joined == network.Span && (from, to) == share) return network;
        await _gate.WaitAsync(ct);
        try
        {
            // A share ceded to new hosts must still hold every address this host leased: the others may lease what it gave up.
            var outside = networks.AddressesIn(name).Where(a => subnet.OffsetOf(a) is var o && (o < from || o > to)).ToList();
            if (outside.Count > 0)
                throw WorkspacesException.Conflict($"network '{name}' cannot cede that part of this host's share of its addresses: this host's running workspaces hold {string.Join(", ", outside)} there; stop them first");
            var (oldSpan, oldFrom, oldTo) = (network.Span, network.SliceFrom, network.SliceTo);
            networks.SetSpan(name, joined, from, to);
            try
            {
                await SpanAllAsync(ct);
            }
            catch
            {
                networks.SetSpan(name, oldSpan, oldFrom, oldTo);
                throw;
            }
            SpanLog.Grown(logger, name, joined);
            return Get(name);
        }
        finally
        {
            _gate.Release();
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
        if (network.SliceFrom is { } first && network.SliceTo is { } last) return (first, last);
        return _slices.TryGetValue(network.Name, out var slice) ? slice
            : throw WorkspacesException.Conflict($"network '{network.Name}' spans {network.Span} but is not connected to them yet (see the daemon's log); try again");
    }

    /// <summary>This host's share of a spanning network's addresses (host offsets, first and last).</summary>
    public (long From, long To) ShareOf(string name)
    {
        var network = Get(name);
        return SliceOf(network, Subnet.Parse(network.Subnet));
    }

    /// <summary>
    /// A share cut for this host and the hosts joining: this host keeps the first part, each joining host
    /// gets one of the rest, in order (equal parts; this host keeps what does not divide).
    /// </summary>
    public static IReadOnlyList<(long From, long To)> Cede((long From, long To) share, int joining)
    {
        long per = (share.To - share.From + 1) / (joining + 1);
        if (per < 1) throw WorkspacesException.Conflict($"this host's share of the subnet ({share.To - share.From + 1} addresses) is too small to cede any to {joining} more host(s)");
        long keep = share.To - share.From + 1 - per * joining;
        var parts = new List<(long, long)> { (share.From, share.From + keep - 1) };
        for (int i = 0; i < joining; i++) parts.Add((share.From + keep + i * per, share.From + keep + (i + 1) * per - 1));
        return parts;
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
