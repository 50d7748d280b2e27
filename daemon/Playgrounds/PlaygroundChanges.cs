using Workspaces.Client;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// What applying a document changes: whether its network is new, the members to create and to
/// remove, the members kept; and the same as steps a person reads (what, where, why). A new network
/// placed on peers spans the peers in Span with VNI Vni (null: the network is this host's alone). Lost
/// members (their host gone, or without them) are forgotten, and made again as members to create.
/// </summary>
public sealed record PlaygroundChanges(
    PlaygroundDocument Document,
    string Text,
    bool NewNetwork,
    IReadOnlyList<PlaygroundMember> Create,
    IReadOnlyList<PlaygroundMemberRow> Remove,
    IReadOnlyList<PlaygroundStep> Steps,
    IReadOnlyList<string>? Span = null,
    int? Vni = null,
    IReadOnlyList<PlaygroundMemberRow>? Lost = null)
{
    /// <summary>Roles whose pinned image must be pulled from peers before their new members are made.</summary>
    public IReadOnlyList<PlaygroundRole> Pulls { get; init; } = [];

    /// <summary>A new span's one MTU, decided from its hosts' underlay; every host's side is made with it.</summary>
    public int? Mtu { get; init; }

    /// <summary>Hosts an existing span grows to (new members are placed there): the network is made there and every other host told.</summary>
    public IReadOnlyList<string> Joining { get; init; } = [];

    /// <summary>Nothing to make or remove (the document text may still be new: it is recorded).</summary>
    public bool Unchanged => !NewNetwork && Joining.Count == 0 && Create.Count == 0 && Remove.Count == 0 && (Lost is null || Lost.Count == 0);

    public PlaygroundPlan ToPlan(bool applied) => new(Document.Name, Steps.ToArray(), applied, Unchanged);
}
