using System.Text;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Playgrounds as one unit: apply a document (plan, then make and remove members, all or nothing),
/// show them, and act on every member at once. Members are ordinary workspaces on the playground's
/// network; the playground records which workspace is which member. Members placed on peers are made
/// and acted on through PlaygroundPeers, on the playground's network spanning those peers, and named
/// to their hosts, which record them (PlaygroundHostedMembers) and sign their identity entries; an
/// apply that fails anywhere undoes everything it made, on every host. On a peer, list and show also
/// give the playgrounds other hosts applied, with the members this host runs for them.
/// </summary>
public sealed class PlaygroundService(
    PlaygroundRepository playgrounds,
    PlaygroundPlanner planner,
    WorkspaceDefinitions definitions,
    WorkspaceTransitions transitions,
    WorkspaceDataDisks dataDisks,
    WorkspaceRepository workspaces,
    NetworkService networks,
    PlaygroundContext context,
    PlaygroundPeers peers,
    PlaygroundImagePulls pulls,
    PlaygroundPeerEntries entries,
    PlaygroundHostedMembers hosted,
    HostIdentity host,
    ILogger<PlaygroundService> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1); // one apply or rm at a time: plans are made against what is there

    public static readonly string[] Actions = ["start", "stop", "pause", "resume", "save", "restore"];

    public async Task<PlaygroundPlan> ApplyAsync(string text, bool yes, Caller caller, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var changes = await planner.PlanAsync(text, caller, ct);
            if (!yes) return changes.ToPlan(applied: false);
            await CarryOutAsync(changes, caller, ct);
            return changes.ToPlan(applied: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CarryOutAsync(PlaygroundChanges changes, Caller caller, CancellationToken ct)
    {
        var doc = changes.Document;
        await pulls.PullAsync(changes, caller, ct); // before anything is made: a missing image leaves nothing behind
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var revert = new Reverter(logger);
        if (changes.NewNetwork)
        {
            var request = new CreateNetworkRequest(doc.Name, doc.Network.Subnet, Nat: doc.Network.Egress is not null, Egress: doc.Network.Egress);
            if (changes.Span is { } span)
            {
                // Each host's side names the others: this host and the rest of the span.
                string self = planner.Self;
                foreach (string peer in span)
                {
                    await peers.CreateNetworkAsync(peer, request with { Vni = changes.Vni, Span = [self, .. span.Where(p => p != peer)], Mtu = changes.Mtu }, ct);
                    revert.Add(() => peers.DeleteNetworkAsync(peer, doc.Name, CancellationToken.None));
                }
                request = request with { Vni = changes.Vni, Span = [.. span], Mtu = changes.Mtu };
            }
            await networks.CreateAsync(request, ct);
            revert.Add(() => networks.DeleteAsync(doc.Name, CancellationToken.None));
        }
        if (changes.Joining.Count > 0) await GrowSpanAsync(doc, changes.Joining, revert, ct);
        bool isNew = playgrounds.Find(doc.Name) is null;
        var keys = ClusterKeyPair.Create($"playground-{doc.Name}"); // kept only when the playground is new
        playgrounds.Save(new PlaygroundRow
        {
            Name = doc.Name, Owner = caller.Namespace, Document = changes.Text, CreatedAt = now, AppliedAt = now,
            SshPublic = keys.PublicKey, SshSealed = Convert.ToBase64String(KeySeal.Seal(Encoding.UTF8.GetBytes(keys.PrivateKey), host.SealingKey.PublicKey)),
        });
        if (isNew) revert.Add(() => playgrounds.Delete(doc.Name));

        foreach (var member in changes.Lost ?? [])
        {
            playgrounds.DeleteRemoteMember(doc.Name, member.Name);
            revert.Add(() => playgrounds.AddRemoteMember(member));
        }
        foreach (var member in changes.Create)
        {
            var role = member.Role;
            var create = new CreateWorkspaceRequest(member.Name, member.Reference, role.Vcpus, role.MemoryMiB,
                Network: doc.Name, UserData: role.UserData, Secrets: role.Secrets.Count > 0 ? new Dictionary<string, string>(role.Secrets) : null);
            if (member.Host is { } peer)
            {
                await peers.CreateMemberAsync(peer, create, ct);
                revert.Add(() => peers.DeleteMemberAsync(peer, member.Name, CancellationToken.None)); // its disks and its record there go with it
                await entries.RecordAsync(peer, doc.Name, member, ct); // the peer's own record: it signs and lists only these
                for (int i = 0; i < role.DiskBytes.Count; i++)
                    await peers.AddDiskAsync(peer, member.Name, $"data{i + 1}", ByteSize.Format(role.DiskBytes[i]), ct);
                playgrounds.AddRemoteMember(new PlaygroundMemberRow { Playground = doc.Name, Name = member.Name, Role = role.Name, Idx = member.Index, Host = peer });
                revert.Add(() => { playgrounds.DeleteRemoteMember(doc.Name, member.Name); return Task.CompletedTask; });
                continue;
            }
            var row = await definitions.CreateAsync(create, caller, ct);
            revert.Add(() => definitions.DeleteAsync(member.Name, caller, force: true, CancellationToken.None));
            playgrounds.AddMember(new PlaygroundMemberRow { Playground = doc.Name, WorkspaceId = row.Id, Name = member.Name, Role = role.Name, Idx = member.Index });
            for (int i = 0; i < role.DiskBytes.Count; i++)
                await dataDisks.AddAsync(member.Name, $"data{i + 1}", ByteSize.Format(role.DiskBytes[i]), null, caller, ct);
        }
        // Started together once all are defined: a start that fails undoes the whole apply.
        await Task.WhenAll(changes.Create.Select(m => m.Host is { } peer
            ? peers.ActAsync(peer, m.Name, "start", stateful: false, ct)
            : transitions.ActAsync(m.Name, WorkspaceAction.Start, caller, new ActionOptions(), ct)));
        foreach (var member in changes.Remove) await RemoveAsync(member, caller, ct);
        revert.Success();
        // Told after the apply stands: a member's names are a courtesy, not a reason to undo it.
        if (!changes.Unchanged) await context.SpreadAsync(doc.Name, ct);
        PlaygroundLog.Applied(logger, doc.Name, changes.Create.Count, changes.Remove.Count);
    }

    /// <summary>
    /// The playground's span grows to hosts that joined later. This host cedes the upper parts of its
    /// share of the addresses to them (it keeps the first part, where its leases are: it refuses if one is
    /// not), so no host's leases move; the hosts already in the span learn the new ones; then the network
    /// is made on each new host with the span's VNI, its one MTU (a host whose underlay cannot carry it
    /// refuses) and its ceded share. Each host's side names all the others. Undone in reverse on failure.
    /// </summary>
    private async Task GrowSpanAsync(PlaygroundDocument doc, IReadOnlyList<string> joining, Reverter revert, CancellationToken ct)
    {
        var network = networks.Get(doc.Name);
        string self = planner.Self;
        var old = network.SpanPeers.ToList();
        List<string> all = [self, .. old, .. joining];
        string[] Others(IEnumerable<string> hosts, string of) => hosts.Where(h => h != of).ToArray();
        var share = networks.ShareOf(doc.Name);
        var parts = NetworkService.Cede(share, joining.Count);
        int[] Slice((long From, long To) part) => [(int)part.From, (int)part.To];
        await networks.SetSpanAsync(doc.Name, Others(all, self), Slice(parts[0]), ct);
        revert.Add(async () => await networks.SetSpanAsync(doc.Name, old, Slice(share), CancellationToken.None));
        foreach (string peer in old)
        {
            await peers.SpanNetworkAsync(peer, doc.Name, Others(all, peer), ct);
            revert.Add(() => peers.SpanNetworkAsync(peer, doc.Name, Others([self, .. old], peer), CancellationToken.None));
        }
        foreach (var (peer, i) in joining.Select((p, i) => (p, i)))
        {
            await peers.CreateNetworkAsync(peer, new CreateNetworkRequest(doc.Name, network.Subnet, Nat: network.Nat, Egress: doc.Network.Egress,
                Vni: network.Vni, Span: Others(all, peer), Mtu: network.SpanMtu, Slice: Slice(parts[i + 1])), ct);
            revert.Add(() => peers.DeleteNetworkAsync(peer, doc.Name, CancellationToken.None));
        }
    }

    /// <summary>The playgrounds applied here, then those peers applied that this host holds members of (AppliedBy names the peer).</summary>
    public async Task<IReadOnlyList<PlaygroundInfo>> ListAsync(Caller caller, CancellationToken ct)
    {
        var own = playgrounds.List();
        var applied = await Task.WhenAll(own.Where(p => Visible(p, caller)).Select(p => InfoAsync(p, withDocument: false, ct)));
        var held = hosted.Groups().Where(g => own.All(p => p.Name != g.Key.Playground))
            .Select(g => HostedInfo(g.Key.Playground, g.Key.AppliedBy, g.Where(m => hosted.Visible(m, caller)).ToList()))
            .Where(i => i.Members.Length > 0);
        return [.. applied, .. held];
    }

    /// <summary>Refuses (404) a playground the caller may not see; asks no peer.</summary>
    public void CheckVisible(string name, Caller caller) => Get(name, caller);

    public Task<PlaygroundInfo> ShowAsync(string name, Caller caller, CancellationToken ct)
    {
        if (playgrounds.Find(name) is null && Hosted(name, caller) is { } held) return Task.FromResult(held);
        return InfoAsync(Get(name, caller), withDocument: true, ct);
    }

    /// <summary>A playground a peer applied, as far as this host holds its members (null: it holds none the caller may see).</summary>
    private PlaygroundInfo? Hosted(string name, Caller caller) =>
        hosted.Groups().Where(g => g.Key.Playground == name).Select(g => HostedInfo(name, g.Key.AppliedBy, g.Where(m => hosted.Visible(m, caller)).ToList()))
            .FirstOrDefault(i => i.Members.Length > 0);

    private PlaygroundInfo HostedInfo(string name, string appliedBy, IReadOnlyList<PlaygroundHostedMemberRow> members)
    {
        var network = networks.List().FirstOrDefault(n => n.Name == name);
        var infos = members.Select(m => new PlaygroundMemberInfo(m.Name, m.Role, m.Idx, PlaygroundPlanner.ThisHost,
            workspaces.FindById(m.WorkspaceId)?.State ?? "Lost", networks.NicOf(m.WorkspaceId)?.Address)).ToArray();
        long at = members.Count > 0 ? members.Max(m => m.RecordedAt) : 0;
        return new PlaygroundInfo(name, name, network?.Subnet ?? "", DateTimeOffset.FromUnixTimeMilliseconds(at), infos, AppliedBy: appliedBy);
    }

    /// <summary>A member removed: its workspace here, or on its peer (and its record here).</summary>
    private async Task RemoveAsync(PlaygroundMemberRow member, Caller caller, CancellationToken ct)
    {
        if (member.Host is { } peer)
        {
            try { await peers.DeleteMemberAsync(peer, member.Name, ct); }
            catch (PeerFailure e) { PlaygroundPeersLog.MemberLeft(logger, member.Playground, member.Name, peer, e.Message); }
            playgrounds.DeleteRemoteMember(member.Playground, member.Name);
        }
        else await definitions.DeleteAsync(member.Name, caller, force: true, ct);
    }

    /// <summary>
    /// One action on every member. save pauses all at once (their saved states then belong to one
    /// instant), then saves each; restore starts every saved member. Members already where the action
    /// leads are left alone, so an interrupted action can be asked again.
    /// </summary>
    public async Task<PlaygroundInfo> ActAsync(string name, string action, Caller caller, CancellationToken ct)
    {
        var playground = Get(name, caller);
        var members = playgrounds.Members(name);
        // Read at each step: save pauses, then saves those it paused. Remote members' states are asked of their hosts.
        async Task<List<PlaygroundMemberRow>> InAsync(params string[] states)
        {
            var now = await Task.WhenAll(members.Select(async m => (Member: m, State: (await StateOfAsync(m, ct)).State)));
            return now.Where(x => states.Contains(x.State)).Select(x => x.Member).ToList();
        }
        Task One(PlaygroundMemberRow m, WorkspaceAction verb, ActionOptions how) => m.Host is { } peer
            ? peers.ActAsync(peer, m.Name, verb.ToString().ToLowerInvariant(), how.Stateful, ct)
            : transitions.ActAsync(m.Name, verb, caller, how, ct);
        async Task All(Task<List<PlaygroundMemberRow>> which, WorkspaceAction verb, ActionOptions how) =>
            await Task.WhenAll((await which).Select(m => One(m, verb, how)));
        switch (action)
        {
            case "start":
                await All(InAsync(WorkspaceStates.Defined, WorkspaceStates.Stopped, WorkspaceStates.Failed), WorkspaceAction.Start, new());
                await context.SpreadAsync(name, ct); // addresses are leased at start
                break;
            case "stop": await All(InAsync(WorkspaceStates.Running, WorkspaceStates.Paused), WorkspaceAction.Stop, new()); break;
            case "pause": await All(InAsync(WorkspaceStates.Running), WorkspaceAction.Pause, new()); break;
            case "resume": await All(InAsync(WorkspaceStates.Paused), WorkspaceAction.Resume, new()); break;
            case "save":
                // Paused together on every host first: the saved states then belong to one instant.
                await All(InAsync(WorkspaceStates.Running), WorkspaceAction.Pause, new());
                await All(InAsync(WorkspaceStates.Paused), WorkspaceAction.Stop, new ActionOptions(Stateful: true));
                break;
            case "restore": await All(InAsync(WorkspaceStates.Saved), WorkspaceAction.Start, new()); break;
            default: throw WorkspacesException.NotFound($"unknown playground action {Names.Quote(action)}; actions are {string.Join(", ", Actions)}");
        }
        return await InfoAsync(playground, withDocument: false, ct);
    }

    /// <summary>Removes every member (stopping it), then the network, then the record.</summary>
    public async Task DeleteAsync(string name, Caller caller, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            Get(name, caller);
            foreach (var member in playgrounds.Members(name)) await RemoveAsync(member, caller, ct);
            if (networks.List().FirstOrDefault(n => n.Name == name) is { } network)
            {
                // A host that died keeps its side (nothing else uses it); the playground is still removed here.
                foreach (string peer in network.SpanPeers)
                {
                    try { await peers.DeleteNetworkAsync(peer, name, ct); }
                    catch (PeerFailure e) { PlaygroundPeersLog.NetworkLeft(logger, name, peer, e.Message); }
                }
                await networks.DeleteAsync(name, ct);
            }
            playgrounds.Delete(name);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A playground applied here; one a peer applied is acted on there (this host only holds some of its members).</summary>
    private PlaygroundRow Get(string name, Caller caller)
    {
        if (playgrounds.Find(name) is { } row && Visible(row, caller)) return row;
        if (Hosted(name, caller) is { AppliedBy: { } by })
            throw WorkspacesException.Conflict($"playground {Names.Quote(name)} was applied by host {by}; this host only runs some of its members: act on it, or remove it, there");
        throw WorkspacesException.NotFound($"no playground named {Names.Quote(name)}");
    }

    /// <summary>
    /// A member's state and address. "Lost" if its workspace is gone (here, or on a peer that answered);
    /// "Unreachable" with the reason if its host did not answer: the member may be lost with its host.
    /// </summary>
    private async Task<(string State, string? Address, string? Reason)> StateOfAsync(PlaygroundMemberRow member, CancellationToken ct)
    {
        if (member.Host is not { } peer)
            return (workspaces.FindById(member.WorkspaceId)?.State ?? "Lost", networks.NicOf(member.WorkspaceId)?.Address, null);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(MemberTimeout);
            var info = await peers.MemberAsync(peer, member.Name, timeout.Token);
            return info is null ? ("Lost", null, $"host {peer} has no workspace {member.Name}") : (info.State, info.Nic?.Address, null);
        }
        catch (Exception e) when (e is WorkspacesException or HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return ("Unreachable", null, $"lost with host {peer}? it did not answer: {e.Message}");
        }
    }

    /// <summary>How long a peer has to say how its member is before show calls the member unreachable.</summary>
    public static readonly TimeSpan MemberTimeout = TimeSpan.FromSeconds(5);

    private static bool Visible(PlaygroundRow row, Caller caller) => caller.IsAdmin || row.Owner == caller.Namespace;

    private async Task<PlaygroundInfo> InfoAsync(PlaygroundRow row, bool withDocument, CancellationToken ct)
    {
        var network = networks.List().FirstOrDefault(n => n.Name == row.Name);
        var members = await Task.WhenAll(playgrounds.Members(row.Name).Select(async m =>
        {
            var (state, address, reason) = await StateOfAsync(m, ct);
            return new PlaygroundMemberInfo(m.Name, m.Role, m.Idx, m.Host ?? PlaygroundPlanner.ThisHost, state, address, reason);
        }));
        return new PlaygroundInfo(row.Name, row.Name, network?.Subnet ?? "", DateTimeOffset.FromUnixTimeMilliseconds(row.AppliedAt), members,
            withDocument ? row.Document : null);
    }
}
