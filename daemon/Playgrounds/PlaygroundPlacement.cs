namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Placement hints: spread members over hosts, keep them to the named peers, or place them near
/// their image (NearImage: on the hosts that hold most of it, this host's peers included).
/// </summary>
public sealed record PlaygroundPlacement(bool Spread, IReadOnlyList<string> On, int Line = 0, bool NearImage = false)
{
    /// <summary>Any hint puts members on this host and its peers; without one they are made here.</summary>
    public bool OnPeers => Spread || On.Count > 0 || NearImage;
}
