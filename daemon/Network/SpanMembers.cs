using System.Net;

namespace Workspaces.Daemon.Network;

/// <summary>This host's WireGuard private key (base64, for wg's stdin only) and tunnel address, and the peers' tunnel ends by peer name.</summary>
public sealed record SpanMembers(string PrivateKey, IPAddress LocalTunnel, IReadOnlyDictionary<string, WireGuardPeer> Peers);
