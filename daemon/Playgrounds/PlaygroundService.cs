using System.Text;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Playgrounds as one unit: apply a document (plan, then make and remove members, all or nothing),
/// show them, and act on every member at once. Members are ordinary workspaces on the playground's
/// network; the playground records which workspace is which member.
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
    PlaygroundImagePulls pulls,
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
            var changes = planner.Plan(text, caller);
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
            await networks.CreateAsync(new CreateNetworkRequest(doc.Name, doc.Network.Subnet, Nat: doc.Network.Egress is not null, Egress: doc.Network.Egress), ct);
            revert.Add(() => networks.DeleteAsync(doc.Name, CancellationToken.None));
        }
        bool isNew = playgrounds.Find(doc.Name) is null;
        var keys = ClusterKeyPair.Create($"playground-{doc.Name}"); // kept only when the playground is new
        playgrounds.Save(new PlaygroundRow
        {
            Name = doc.Name, Owner = caller.Namespace, Document = changes.Text, CreatedAt = now, AppliedAt = now,
            SshPublic = keys.PublicKey, SshSealed = Convert.ToBase64String(KeySeal.Seal(Encoding.UTF8.GetBytes(keys.PrivateKey), host.SealingKey.PublicKey)),
        });
        if (isNew) revert.Add(() => playgrounds.Delete(doc.Name));

        foreach (var member in changes.Create)
        {
            var role = member.Role;
            var row = await definitions.CreateAsync(new CreateWorkspaceRequest(member.Name, role.Reference, role.Vcpus, role.MemoryMiB,
                Network: doc.Name, UserData: role.UserData, Secrets: role.Secrets.Count > 0 ? new Dictionary<string, string>(role.Secrets) : null), caller, ct);
            revert.Add(() => definitions.DeleteAsync(member.Name, caller, force: true, CancellationToken.None));
            playgrounds.AddMember(new PlaygroundMemberRow { Playground = doc.Name, WorkspaceId = row.Id, Name = member.Name, Role = role.Name, Idx = member.Index });
            for (int i = 0; i < role.DiskBytes.Count; i++)
                await dataDisks.AddAsync(member.Name, $"data{i + 1}", ByteSize.Format(role.DiskBytes[i]), null, caller, ct);
        }
        // Started together once all are defined: a start that fails undoes the whole apply.
        await Task.WhenAll(changes.Create.Select(m => transitions.ActAsync(m.Name, WorkspaceAction.Start, caller, new ActionOptions(), ct)));
        foreach (var member in changes.Remove) await definitions.DeleteAsync(member.Name, caller, force: true, ct);
        revert.Success();
        // Told after the apply stands: a member's names are a courtesy, not a reason to undo it.
        if (!changes.Unchanged) await context.SpreadAsync(doc.Name, ct);
        PlaygroundLog.Applied(logger, doc.Name, changes.Create.Count, changes.Remove.Count);
    }

    public IReadOnlyList<PlaygroundInfo> List(Caller caller) =>
        playgrounds.List().Where(p => Visible(p, caller)).Select(p => Info(p, withDocument: false)).ToList();

    public PlaygroundInfo Show(string name, Caller caller) => Info(Get(name, caller), withDocument: true);

    /// <summary>
    /// One action on every member. save pauses all at once (their saved states then belong to one
    /// instant), then saves each; restore starts every saved member. Members already where the action
    /// leads are left alone, so an interrupted action can be asked again.
    /// </summary>
    public async Task<PlaygroundInfo> ActAsync(string name, string action, Caller caller, CancellationToken ct)
    {
        var playground = Get(name, caller);
        var members = playgrounds.Members(name);
        // Read at each step: save pauses, then saves those it paused.
        IEnumerable<string> In(params string[] states) => members.Where(m => states.Contains(StateOf(m))).Select(m => m.Name).ToList();
        Task All(IEnumerable<string> names, WorkspaceAction verb, ActionOptions how) =>
            Task.WhenAll(names.Select(n => transitions.ActAsync(n, verb, caller, how, ct)));
        switch (action)
        {
            case "start":
                await All(In(WorkspaceStates.Defined, WorkspaceStates.Stopped, WorkspaceStates.Failed), WorkspaceAction.Start, new());
                await context.SpreadAsync(name, ct); // addresses are leased at start
                break;
            case "stop": await All(In(WorkspaceStates.Running, WorkspaceStates.Paused), WorkspaceAction.Stop, new()); break;
            case "pause": await All(In(WorkspaceStates.Running), WorkspaceAction.Pause, new()); break;
            case "resume": await All(In(WorkspaceStates.Paused), WorkspaceAction.Resume, new()); break;
            case "save":
                await All(In(WorkspaceStates.Running), WorkspaceAction.Pause, new());
                foreach (var member in In(WorkspaceStates.Paused)) await transitions.ActAsync(member, WorkspaceAction.Stop, caller, new ActionOptions(Stateful: true), ct);
                break;
            case "restore": await All(In(WorkspaceStates.Saved), WorkspaceAction.Start, new()); break;
            default: throw WorkspacesException.NotFound($"unknown playground action {Names.Quote(action)}; actions are {string.Join(", ", Actions)}");
        }
        return Info(playground, withDocument: false);
    }

    /// <summary>Removes every member (stopping it), then the network, then the record.</summary>
    public async Task DeleteAsync(string name, Caller caller, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            Get(name, caller);
            foreach (var member in playgrounds.Members(name)) await definitions.DeleteAsync(member.Name, caller, force: true, ct);
            if (networks.List().Any(n => n.Name == name)) await networks.DeleteAsync(name, ct);
            playgrounds.Delete(name);
        }
        finally
        {
            _gate.Release();
        }
    }

    private PlaygroundRow Get(string name, Caller caller) =>
        playgrounds.Find(name) is { } row && Visible(row, caller) ? row : throw WorkspacesException.NotFound($"no playground named {Names.Quote(name)}");

    /// <summary>A member's workspace state; "Lost" if its row went between two reads.</summary>
    private string StateOf(PlaygroundMemberRow member) => workspaces.FindById(member.WorkspaceId)?.State ?? "Lost";

    private static bool Visible(PlaygroundRow row, Caller caller) => caller.IsAdmin || row.Owner == caller.Namespace;

    private PlaygroundInfo Info(PlaygroundRow row, bool withDocument)
    {
        var network = networks.List().FirstOrDefault(n => n.Name == row.Name);
        var members = playgrounds.Members(row.Name).Select(m => new PlaygroundMemberInfo(m.Name, m.Role, m.Idx, PlaygroundPlanner.ThisHost,
            StateOf(m), networks.NicOf(m.WorkspaceId)?.Address)).ToArray();
        return new PlaygroundInfo(row.Name, row.Name, network?.Subnet ?? "", DateTimeOffset.FromUnixTimeMilliseconds(row.AppliedAt), members,
            withDocument ? row.Document : null);
    }
}
