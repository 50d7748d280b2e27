using System.ComponentModel.DataAnnotations;

namespace Workspaces.Daemon;

/// <summary>
/// The peer listener (`peers` in the config): off unless Listen is set; the local Unix-socket API
/// is the same either way.
/// </summary>
public sealed class PeerOptions
{
    /// <summary>ADDRESS:PORT for the mTLS peer listener, e.g. "0.0.0.0:8743"; empty: no listener.</summary>
    [RegularExpression(@"\A(\[[0-9a-fA-F:]+\]|[0-9.]+):[0-9]{1,5}\z", ErrorMessage = "peers.listen must be ADDRESS:PORT, e.g. 0.0.0.0:8743")]
    public string? Listen { get; set; }

    /// <summary>This host's name as peers record it (default: the machine's host name).</summary>
    [RegularExpression(@"\A[a-z0-9][a-z0-9.-]{0,62}\z", ErrorMessage = "peers.name must be a host name: lowercase letters, digits, '.', '-'")]
    public string? Name { get; set; }

    /// <summary>Addresses (host:port) put into join tokens; default: the listen address when it names one, else every address of this host.</summary>
    public string[] Addresses { get; set; } = [];

    /// <summary>How often peers are asked how they are (reachability, capacity, round-trip time).</summary>
    [Range(0.2, 3600)]
    public double CheckIntervalSeconds { get; set; } = 10;

    /// <summary>Piece requests one pull keeps in flight to each peer.</summary>
    [Range(1, 16)]
    public int RequestsPerPeer { get; set; } = 3;

    /// <summary>
    /// The WireGuard interface spanning networks ride (issue #17). wireguard-go's control socket is
    /// /var/run/wireguard/NAME.sock, one per machine whatever the network namespace: daemons sharing a
    /// machine (tests) need a name each.
    /// </summary>
    [RegularExpression(@"\A[a-z][a-z0-9-]{0,14}\z", ErrorMessage = "peers.wireGuardInterface must be an interface name of at most 15 characters")]
    public string WireGuardInterface { get; set; } = "wsg0";
}
