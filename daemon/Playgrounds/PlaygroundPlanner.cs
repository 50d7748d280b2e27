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
/// playground is admitted, or nothing is made). Touches nothing. Members are placed on this host.
/// </summary>
public sealed class PlaygroundPlanner(
    PlaygroundRepository playgrounds,
    NetworkService networks,
    ImageService images,
    Admission admission,
    Federation.PeerDirectory peers,
    IOptions<WorkspacesOptions> options)
{
    public const string ThisHost = "this host";

    public PlaygroundChanges Plan(string text, Caller caller)
    {
        var document = PlaygroundParser.Parse(text);
        var existing = playgrounds.Find(document.Name);
        if (existing is not null && existing.Owner != caller.Namespace && !caller.IsAdmin)
            throw WorkspacesException.Conflict($"a playground named '{document.Name}' exists and is not yours");
        var steps = new List<PlaygroundStep>();
        // Members are placed on this host only, for now: a hint this daemon cannot follow is refused, not ignored.
        if (document.Placement.Spread || document.Placement.On.Count > 0)
            throw PlaygroundParser.Refuse(document.Placement.Line, "placement",
                "placing members on peers (spread, on) is not built yet; leave placement out to place every member on this host");

        bool newNetwork = CheckNetwork(document, existing, steps);
        bool hasPeers = peers.List().Count > 0;
        var missing = document.Roles.Where(role => !CheckImage(role, hasPeers)).ToList();

        var current = existing is null ? [] : playgrounds.Members(document.Name);
        var have = current.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var wanted = document.Members().ToList();
        var create = wanted.Where(m => !have.Contains(m.Name)).ToList();
        var wantedNames = wanted.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var remove = current.Where(m => !wantedNames.Contains(m.Name)).ToList();

        // A pinned image this host lacks is pulled from peers by hash, before members are made from it (only if some are).
        var pulls = missing.Where(role => create.Any(m => m.Role.Name == role.Name)).ToList();
        foreach (var role in pulls)
            steps.Add(new PlaygroundStep("pull", $"image {role.Image}", ThisHost,
                $"role {role.Name} is pinned to image {role.Fingerprint![..12]}, which this host lacks: pulled from peers by its fingerprint"));
        foreach (var m in wanted)
        {
            int had = current.Count(c => c.Role == m.Role.Name);
            steps.Add(have.Contains(m.Name)
                ? new PlaygroundStep("keep", m.Name, ThisHost, $"role {m.Role.Name} member {m.Index} of {m.Role.Count} exists")
                : new PlaygroundStep("create", m.Name, ThisHost,
                    $"role {m.Role.Name} wants {m.Role.Count}, has {had}: {m.Role.Image}, {Shape(m.Role).Vcpus} vCPUs, {Shape(m.Role).MemoryMiB} MiB"
                    + (m.Role.DiskBytes.Count > 0 ? $", {m.Role.DiskBytes.Count} data disk(s)" : "")));
        }
        foreach (var m in remove)
        {
            var role = document.Roles.FirstOrDefault(r => r.Name == m.Role);
            steps.Add(new PlaygroundStep("remove", m.Name, ThisHost,
                role is null ? $"role {m.Role} is no longer in the document" : $"role {m.Role} wants {role.Count}; member {m.Idx} is beyond"));
        }
        CheckRoom(create);
        return new PlaygroundChanges(document, text, newNetwork, create, remove, steps) { Pulls = pulls };
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
