using System.Net;

namespace Workspaces.Daemon.Network;

/// <summary>
/// One other host on the tunnel: its WireGuard public key (base64), where its WireGuard listens on
/// the underlay (its peer address), and its tunnel address (the only address it may source inside
/// the tunnel: allowed-ips is that /32, so a host cannot speak for another). UnderlayMtu is what it
/// says its underlay carries toward this host (null: an older daemon that does not say).
/// </summary>
public sealed record WireGuardPeer(string PublicKey, IPAddress Endpoint, IPAddress TunnelAddress, int? UnderlayMtu = null);
