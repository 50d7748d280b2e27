using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Places new members on hosts with the federation's placement (`ws place`): each host's admission is
/// asked about each role's shape, and hosts are ranked by image proximity and room. A host takes a
/// member only if it admits the shape and still has room once the members already placed on it in
/// this plan are counted; a host that lacks (part of) the image may take it, and is to pull the image
/// by its fingerprint before the member is made (the member's Pull). spread puts
/// each member on the admitting host with the fewest members of the playground (round-robin); without
/// it, each goes to the best-ranked host with room. One member that fits nowhere refuses the plan.
/// </summary>
public sealed class PlaygroundHosts(Placement placement, PeerDirectory directory)
{
    /// <summary>The hosts a playground may use, by name (this host's own name for itself): the `on` list, or this host and every peer.</summary>
    public IReadOnlyList<string> Candidates(PlaygroundPlacement hints)
    {
        var peers = directory.List().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        if (hints.On.Count == 0) return [directory.Name, .. peers.Order(StringComparer.Ordinal)];
        var hosts = new List<string>();
        foreach (string name in hints.On)
        {
            string host = name == "self" ? directory.Name : name;
            if (host != directory.Name && !peers.Contains(host))
                throw PlaygroundParser.Refuse(hints.Line, "placement.on", $"no peer named {Core.Names.Quote(name)}; peers are {string.Join(", ", peers.Order(StringComparer.Ordinal))}");
            if (!hosts.Contains(host)) hosts.Add(host);
        }
        return hosts;
    }

    /// <summary>This host's name as its peers know it.</summary>
    public string Self => directory.Name;

    /// <summary>
    /// The host for each new member (null: this host) and why. existing counts the playground's members
    /// per host (for spread). hosts are the candidates; a host not in it is never used.
    /// </summary>
    public async Task<IReadOnlyList<(PlaygroundMember Member, string Why)>> PlaceAsync(IReadOnlyList<PlaygroundMember> create,
        Func<PlaygroundRole, WorkspaceShape> shapeOf, IReadOnlyList<string> hosts, PlaygroundPlacement hints, IDictionary<string, int> existing, CancellationToken ct)
    {
        bool spread = hints.Spread;
        var placed = new List<(PlaygroundMember, string)>();
        var free = new Dictionary<string, (int Vcpus, int MemoryMiB)>(StringComparer.Ordinal);
        var count = new Dictionary<string, int>(existing, StringComparer.Ordinal);
        var rankings = new Dictionary<string, PlacementReport>(StringComparer.Ordinal);
        foreach (var member in create)
        {
            var shape = shapeOf(member.Role);
            if (!rankings.TryGetValue(member.Role.Name, out var report))
            {
                try
                {
                    report = await placement.RankAsync(member.Role.Reference, shape.Vcpus, shape.MemoryMiB, ct);
                }
                catch (WorkspacesException e) when (e.Status == 404)
                {
                    throw PlaygroundParser.Refuse(member.Role.ImageLine, $"roles.{member.Role.Name}.image", e.Message);
                }
                rankings[member.Role.Name] = report;
            }
            var fit = report.Candidates.Where(c => hosts.Contains(c.Host) && c.Admits && Room(c, shape, free)).ToList();
            if (fit.Count == 0)
                throw WorkspacesException.Conflict($"member {member.Name} ({shape.Vcpus} vCPUs, {shape.MemoryMiB} MiB, image {member.Role.Image}) fits on no host: "
                    + string.Join("; ", report.Candidates.Where(c => hosts.Contains(c.Host)).Select(c => $"{c.Host}: {Refusal(c, shape, free)}"))
                    + "; nothing was created");
            var chosen = Choose(fit, spread, hints.NearImage, count);
            var left = free.TryGetValue(chosen.Host, out var f) ? f : (chosen.FreeVcpus ?? 0, chosen.FreeMemoryMiB ?? 0);
            free[chosen.Host] = (left.Item1 - shape.Vcpus, left.Item2 - shape.MemoryMiB);
            count[chosen.Host] = count.GetValueOrDefault(chosen.Host) + 1;
            bool lacks = chosen.HeldBytes < chosen.ChainBytes;
            string why = $"rank {chosen.Rank} of {report.Candidates.Length} for {member.Role.Image}: {chosen.Reason}"
                + (hints.NearImage ? $"; near its image: holds {Held(chosen):0%} of it" : "")
                + (spread ? $"; spread: {count[chosen.Host] - 1} member(s) there before it" : "")
                + (lacks ? $"; it lacks the image: pulls {report.Image[..12]} first" : "");
            placed.Add((member with { Host = chosen.Local ? null : chosen.Host, Pull = lacks ? report.Image : null }, why));
        }
        return placed;
    }

    /// <summary>
    /// The host a member goes to among those that take it (fit, best rank first). near image: the hosts
    /// holding the largest share of the image's bytes first (no pull, no wait), spread within them;
    /// spread alone: the host with the fewest of the playground's members, then rank; else the best rank.
    /// </summary>
    public static PlacementCandidate Choose(IReadOnlyList<PlacementCandidate> fit, bool spread, bool nearImage, IDictionary<string, int> count) =>
    fit.OrderByDescending(c => nearImage ? Held(c) : 0)
        .ThenBy(c => spread && count.TryGetValue(c.Host, out int n) ? n : 0)
        .ThenBy(c => c.Rank)
        .First();

    /// <summary>The share of the image's chain a host holds (1 for an image of no bytes).</summary>
    private static double Held(PlacementCandidate c) => c.ChainBytes <= 0 ? 1 : Math.Min(1.0, (double)c.HeldBytes / c.ChainBytes);

    private static bool Room(PlacementCandidate c, WorkspaceShape shape, Dictionary<string, (int Vcpus, int MemoryMiB)> free) =>
        !free.TryGetValue(c.Host, out var f) || (f.Vcpus >= shape.Vcpus && f.MemoryMiB >= shape.MemoryMiB);

    private static string Refusal(PlacementCandidate c, WorkspaceShape shape, Dictionary<string, (int Vcpus, int MemoryMiB)> free) =>
        !c.Admits ? c.Reason
        : !Room(c, shape, free) ? $"no room left after this plan's other members ({free[c.Host].Vcpus} vCPUs, {free[c.Host].MemoryMiB} MiB)"
        : c.Reason;
}
