namespace Workspaces.Daemon.Network;

/// <summary>
/// Who a spanning network's tunnel reaches: the federation answers it (it knows the peers, their
/// addresses and, over the pinned peer channel, their WireGuard keys); the network layer only builds
/// the tunnel and the VXLAN from the answer.
/// </summary>
public interface ISpanPeers
{
    /// <summary>This host's key and the named peers as tunnel ends; an unknown or unreachable peer fails with its name.</summary>
    Task<SpanMembers> ResolveAsync(IReadOnlyCollection<string> peerNames, CancellationToken ct);
}
