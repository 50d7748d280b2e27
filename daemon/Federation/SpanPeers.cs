using System.Net;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// A spanning network's tunnel ends from the peer directory: each peer's underlay address is the one
/// it was joined at, and its WireGuard public key is what it says over the peer channel, which is
/// mutual TLS pinned to its certificate, so the key is the peer's own. The keys are asked each time
/// (one small request per peer): a peer that made a new key is followed without a stored copy going stale.
/// </summary>
public sealed class SpanPeers(PeerDirectory directory, PeerChannel channel, WireGuardKey key) : ISpanPeers
{
    public async Task<SpanMembers> ResolveAsync(IReadOnlyCollection<string> peerNames, CancellationToken ct)
    {
        var ends = new Dictionary<string, WireGuardPeer>(StringComparer.Ordinal);
        foreach (string name in peerNames.Distinct(StringComparer.Ordinal))
        {
            var peer = directory.Get(name);
            var summary = await PeerCall.GetAsync(channel.For(peer.Address, peer.TlsFingerprint), peer.Name, "v1/peer/host?underlay=true",
                WorkspacesJson.Default.PeerHostSummary, ct);
            if (!WireGuardKey.IsValidPublicKey(summary.WireGuardKey))
                throw WorkspacesException.Conflict($"peer '{name}' has no WireGuard key to offer (an older daemon?): it cannot be a member of a spanning network");
            if (!IPEndPoint.TryParse(peer.Address, out var endpoint))
                throw WorkspacesException.Conflict($"peer '{name}' was joined at {peer.Address}, not an IP:port; a spanning network needs its IP address");
            ends[name] = new WireGuardPeer(summary.WireGuardKey!, endpoint.Address, TunnelAddress.Of(summary.WireGuardKey!), summary.UnderlayMtu);
        }
        return new SpanMembers(key.PrivateKey, TunnelAddress.Of(key.PublicKey), ends);
    }
}
