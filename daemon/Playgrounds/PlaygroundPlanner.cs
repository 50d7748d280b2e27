using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Turns a document into the changes that bring the host to it, checking what needs the host: the
/// images exist, the subnet overlaps no other network, the new members fit in what is free (the whole
/// playground is admitted, or nothing is made). Touches nothing. Without placement hints members are
/// placed on this host; with them (spread, on) on this host and its peers by PlaygroundHosts, and the
/// playground's network spans every candidate host.
/// </summary>
public sealed class PlaygroundPlanner(
    PlaygroundRepository playgrounds,
    NetworkService networks,
    ImageService images,
    Admission admission,
    PlaygroundHosts hosts,
    PlaygroundPeers peers,
    Federation.PeerDirectory directory,
    IOptions<WorkspacesOptions> options)
{
    public const string ThisHost = "this host";

    /// <summary>This host's name as its peers know it (a spanning network's other ends name it so).</summary>
    public string Self => hosts.Self;

    public async Task<PlaygroundChanges> PlanAsync(string text, Caller caller, CancellationToken ct)
    {
        var document = PlaygroundParser.Parse(text);
        var existing = playgrounds.Find(document.Name);
        if (existing is not null && existing.Owner != caller.Namespace && !caller.IsAdmin)
            throw WorkspacesException.Conflict($"a playground named '{document.Name}' exists and is not yours");
        var steps = new List<PlaygroundStep>();
        bool onPeers = document.Placement.OnPeers;
        bool newNetwork = CheckNetwork(document, existing, steps);
        bool hasPeers = directory.List().Count > 0;
        // Placed on peers, an image is looked for on every host by placement; here alone, it must be here or be pulled.
        var missing = onPeers ? [] : document.Roles.Where(role => !CheckImage(role, hasPeers)).ToList();

        var current = existing is null ? [] : playgrounds.Members(document.Name);
        // A member whose host is gone (or no longer has it) is made again, elsewhere if its host does not answer.
        var lost = await LostAsync(current, ct);
        current = current.Where(m => !lost.Any(l => l.Member.Name == m.Name)).ToList();
        var have = current.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var wanted = document.Members().ToList();
        var create = wanted.Where(m => !have.Contains(m.Name)).ToList();
        var wantedNames = wanted.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var remove = current.Where(m => !wantedNames.Contains(m.Name)).ToList();

        var where = new Dictionary<string, string>(StringComparer.Ordinal); // a new member's placement reason
        IReadOnlyList<string>? span = null;
        int? vni = null;
        int? mtu = null;
        IReadOnlyList<string> joining = [];
        if (onPeers)
        {
            // A new playground spans every candidate host. An existing one may use the hosts its network
            // spans and any candidate that joined since (its span then grows to it); a network that is
            // this host's own stays so: its members stay here.
            var net = existing is null ? null : networks.List().FirstOrDefault(n => n.Name == document.Name);
            var candidates = net is null ? hosts.Candidates(document.Placement)
                : !net.Spanning ? [hosts.Self]
                : [.. hosts.Candidates(document.Placement).Union([hosts.Self, .. net.SpanPeers])];
            var perHost = current.GroupBy(m => m.Host ?? hosts.Self).ToDictionary(g => g.Key, g => g.Count());
            foreach (var (member, why) in lost) steps.Add(new PlaygroundStep("forget", member.Name, member.Host!, why));
            var placed = await hosts.PlaceAsync(create, Shape, candidates, document.Placement, perHost, ct);
            create = placed.Select(p => p.Member).ToList();
            foreach (var (member, why) in placed) where[member.Name] = why;
            foreach (var lacking in create.Where(m => m.Pull is not null).GroupBy(m => (m.Host, m.Pull)))
                steps.Add(new PlaygroundStep("pull", $"image {lacking.First().Role.Image}", lacking.Key.Host ?? ThisHost,
                    $"it lacks image {lacking.Key.Pull![..12]}: pulled there by fingerprint from its peers before {string.Join(", ", lacking.Select(m => m.Name))} is made"));
            if (net is { Spanning: true })
            {
                joining = placed.Select(p => p.Member.Host).OfType<string>().Distinct().Where(h => !net.SpanPeers.Contains(h)).Order(StringComparer.Ordinal).ToList();
                if (joining.Count > 0)
                    steps.Add(new PlaygroundStep("span", $"network {document.Name}", string.Join(", ", joining),
                        $"grown to new member hosts: VNI {net.Vni}, MTU {net.SpanMtu}; every host's WireGuard peers and VXLAN learn them"));
            }
            var others = candidates.Where(h => h != hosts.Self).ToList();
            if (newNetwork && others.Count > 0) // no peer to use (none joined, or `on: [self]`): the network is this host's own
            {
                span = others;
                vni = await FreeVniAsync(document.Name, span, ct);
                // One MTU for the one segment: the smallest underlay among the hosts, less WireGuard's and VXLAN's headers.
                mtu = await networks.SpanMtuAsync(span, ct);
                steps.Add(new PlaygroundStep("span", $"network {document.Name}", string.Join(", ", span),
                    $"VNI {vni}, WireGuard + VXLAN to every candidate host, MTU {mtu} (the smallest underlay among them less {SpanPath.WireGuardOverhead + SpanPath.VxlanOverhead})"));
            }
        }

        // A pinned image this host lacks is pulled from peers by hash, before members are made from it (only if some are).
        var pulls = missing.Where(role => create.Any(m => m.Role.Name == role.Name)).ToList();
        foreach (var role in pulls)
            steps.Add(new PlaygroundStep("pull", $"image {role.Image}", ThisHost,
                $"role {role.Name} is pinned to image {role.Fingerprint![..12]}, which this host lacks: pulled from peers by its fingerprint"));
        foreach (var m in wanted)
        {
            int had = current.Count(c => c.Role == m.Role.Name);
            var made = create.FirstOrDefault(c => c.Name == m.Name);
            var kept = current.FirstOrDefault(c => c.Name == m.Name);
            steps.Add(kept is not null
                ? new PlaygroundStep("keep", m.Name, kept.Host ?? ThisHost, $"role {m.Role.Name} member {m.Index} of {m.Role.Count} exists")
                : new PlaygroundStep("create", m.Name, made?.Host ?? ThisHost,
                    $"role {m.Role.Name} wants {m.Role.Count}, has {had}: {m.Role.Image}, {Shape(m.Role).Vcpus} vCPUs, {Shape(m.Role).MemoryMiB} MiB"
                    + (m.Role.DiskBytes.Count > 0 ? $", {m.Role.DiskBytes.Count} data disk(s)" : "")
                    + (where.TryGetValue(m.Name, out string? why) ? $"; {why}" : "")));
        }
        foreach (var m in remove)
        {
            var role = document.Roles.FirstOrDefault(r => r.Name == m.Role);
            steps.Add(new PlaygroundStep("remove", m.Name, m.Host ?? ThisHost,
                role is null ? $"role {m.Role} is no longer in the document" : $"role {m.Role} wants {role.Count}; member {m.Idx} is beyond"));
        }
        if (!onPeers) CheckRoom(create);
        return new PlaygroundChanges(document, text, newNetwork, create, remove, steps, span, vni, lost.Select(l => l.Member).ToList()) { Pulls = pulls, Mtu = mtu, Joining = joining };
    }

    /// <summary>Members on peers that are lost: their host has no such workspace, or does not answer (it may have died with it).</summary>
    private async Task<List<(PlaygroundMemberRow Member, string Why)>> LostAsync(IReadOnlyList<PlaygroundMemberRow> current, CancellationToken ct)
    {
        var asked = await Task.WhenAll(current.Where(m => m.Host is not null).Select(async m =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(PlaygroundService.MemberTimeout);
                return (Member: m, Why: await peers.MemberAsync(m.Host!, m.Name, timeout.Token) is null ? $"host {m.Host} has no workspace {m.Name}: made again" : null);
            }
            catch (Exception e) when (e is WorkspacesException or HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                return (Member: m, Why: (string?)$"host {m.Host} does not answer ({e.Message}): the member is made again, and left there if that host comes back");
            }
        }));
        return asked.Where(a => a.Why is not null).Select(a => (a.Member, a.Why!)).ToList();
    }

    /// <summary>
    /// A VNI no network uses here or on the hosts it will span: from one the name picks (so two hosts
    /// applying different playgrounds rarely start at the same one), on to the next free.
    /// </summary>
    private async Task<int> FreeVniAsync(string name, IReadOnlyList<string> span, CancellationToken ct)
    {
        var used = networks.List().Where(n => n.Vni is not null).Select(n => n.Vni!.Value).ToHashSet();
        foreach (string peer in span)
            foreach (var n in await peers.NetworksAsync(peer, ct))
                if (n.Vni is { } v) used.Add(v);
        uint hash = 2166136261;
        foreach (char c in name) hash = (hash ^ c) * 16777619;
        int start = (int)(hash % (uint)SpanPath.MaxVni) + 1;
        for (int i = 0; i < SpanPath.MaxVni; i++)
        {
            int vni = (start - 1 + i) % SpanPath.MaxVni + 1;
            if (!used.Contains(vni)) return vni;
        }
        throw WorkspacesException.Conflict("every VNI is in use");
    }

    /// <summary>The shape a member of this role gets: the document's, else its image's (a template's), else the host's default.</summary>
    public WorkspaceShape Shape(PlaygroundRole role)
    {
        // An image still to be pulled has no shape here yet: the document's, else the host's default, until it comes.
        var image = images.Exists(role.Reference) ? images.Get(role.Reference) : null;
        return new WorkspaceShape(role.Vcpus ?? image?.StateVcpus ?? options.Value.DefaultVcpus,
            role.MemoryMiB ?? image?.StateMemoryMib ?? options.Value.DefaultMemoryMiB);
    }

    private bool CheckNetwork(PlaygroundDocument document, PlaygroundRow? existing, List<PlaygroundStep> steps)
    {
        var subnet = Subnet.Parse(document.Network.Subnet);
        var network = networks.List().FirstOrDefault(n => n.Name == document.Name);
        if (network is not null && existing is null)
            throw PlaygroundParser.Refuse(1, "name", $"a network named '{document.Name}' exists and is not a playground's; a playground's network carries its name");
        if (network is not null)
        {
            if (network.Subnet != subnet.ToString())
                throw PlaygroundParser.Refuse(document.Network.SubnetLine, "network.subnet",
                    $"the playground's network has subnet {network.Subnet}; a subnet is not changed in place (rm the playground first)");
            steps.Add(new PlaygroundStep("keep", $"network {network.Name}", ThisHost, $"subnet {network.Subnet} exists"));
            return false;
        }
        foreach (var other in networks.List())
        {
            var theirs = Subnet.Parse(other.Subnet).Network;
            if (theirs.Contains(subnet.Network.BaseAddress) || subnet.Network.Contains(theirs.BaseAddress))
                throw PlaygroundParser.Refuse(document.Network.SubnetLine, "network.subnet", $"{subnet} overlaps network '{other.Name}' ({other.Subnet})");
        }
        steps.Add(new PlaygroundStep("create", $"network {document.Name}", ThisHost,
            $"subnet {subnet}" + (document.Network.Egress is { } e ? $", egress to {e} only" : ", no egress")));
        return true;
    }

    /// <summary>
    /// True when the role's image is here. A pinned image (an exported document's fingerprint) that is
    /// not here may come from peers; with no peer to ask, the document is refused naming the image.
    /// </summary>
    private bool CheckImage(PlaygroundRole role, bool hasPeers)
    {
        if (role.Fingerprint is { } fingerprint)
        {
            if (images.Exists(fingerprint)) return true;
            if (hasPeers) return false;
            throw PlaygroundParser.Refuse(role.FingerprintLine, $"roles.{role.Name}.fingerprint",
                $"no image with fingerprint {fingerprint} (exported as {Names.Quote(role.Image)}) on this host, and no peer to pull it from: import it, or join a peer that has it");
        }
        try
        {
            images.Get(role.Image);
            return true;
        }
        catch (WorkspacesException e) when (e.Status == 404)
        {
            throw PlaygroundParser.Refuse(role.ImageLine, $"roles.{role.Name}.image", $"no image or template named {Names.Quote(role.Image)} on this host");
        }
    }

    /// <summary>All new members must fit, running, in what the host has free: else none is made.</summary>
    private void CheckRoom(IReadOnlyList<PlaygroundMember> create)
    {
        if (create.Count == 0) return;
        var shapes = create.Select(m => Shape(m.Role)).ToList();
        var need = new WorkspaceShape(shapes.Sum(s => s.Vcpus), shapes.Sum(s => s.MemoryMiB));
        var capacity = admission.Capacity;
        var committed = admission.Committed();
        var free = new WorkspaceShape(capacity.Vcpus - committed.Vcpus, capacity.MemoryMiB - committed.MemoryMiB);
        if (need.Vcpus > free.Vcpus || need.MemoryMiB > free.MemoryMiB)
            throw WorkspacesException.Conflict(
                $"the playground's {create.Count} new member(s) need {need.Vcpus} vCPUs and {need.MemoryMiB} MiB; this host has {free.Vcpus} vCPUs and {free.MemoryMiB} MiB free; nothing was created");
    }
}
