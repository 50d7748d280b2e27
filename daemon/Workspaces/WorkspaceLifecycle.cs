using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The Manager of the paper: turns workspace specs into guests and keeps SQLite (intent) and the
/// host (reality) in step. Transitions of one workspace run one at a time under its lock; different
/// workspaces proceed in parallel. Actions: WorkspaceLifecycle.Actions.cs; re-attach and watching:
/// WorkspaceLifecycle.Guests.cs.
/// </summary>
public sealed partial class WorkspaceLifecycle(
    WorkspaceRepository workspaces,
    CheckinRepository checkins,
    ImageService images,
    ImageFactory factory,
    QemuImg qemuImg,
    NetworkService network,
    IHypervisor hypervisor,
    KvmProbe kvm,
    Admission admission,
    IResourceController resources,
    EventBus events,
    IOptions<WorkspacesOptions> options,
    ILogger<WorkspaceLifecycle> logger)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<string, IGuest> _guests = new();
    private readonly string _root = GuestFiles.Prepare(Path.GetFullPath(Path.Combine(options.Value.StateDir, "workspaces")));

    public IReadOnlyList<WorkspaceRow> List(Caller caller) => workspaces.List(caller.IsAdmin ? null : caller.Uid);

    /// <summary>A workspace the caller may see; others' workspaces are as absent as missing ones.</summary>
    public WorkspaceRow Get(string name, Caller caller)
    {
        var row = workspaces.Find(name);
        if (row is null || !caller.CanSee(row.Owner)) throw WorkspacesException.NotFound($"no workspace named {Names.Quote(name)}");
        return row;
    }

    public async Task<GuestStatus> StatusAsync(string name, Caller caller, CancellationToken ct)
    {
        var row = Get(name, caller);
        string? live = _guests.TryGetValue(row.Id, out var guest) ? await guest.QueryStateAsync(ct) : null;
        return new GuestStatus(row.State, live, guest?.Pid);
    }

    public int RunningCount => _guests.Count;

    public IResourceController Resources => resources;

    /// <summary>How many guests are running and how many paused, from what SQLite records of the attached ones.</summary>
    public (int Running, int Paused) ActiveCounts()
    {
        var active = workspaces.List().Where(w => _guests.ContainsKey(w.Id)).ToList();
        return (active.Count(w => w.State == WorkspaceStates.Running), active.Count(w => w.State == WorkspaceStates.Paused));
    }

    /// <summary>Where a running workspace's limits live (a systemd unit or a cgroup), if any.</summary>
    public string? UnitOf(WorkspaceRow row) => _guests.ContainsKey(row.Id) ? resources.Location(row.Name) : null;

    /// <summary>The NIC of a workspace as the API shows it, with its forwards and, when asked, its rules in the kernel.</summary>
    public NicInfo? NicInfo(WorkspaceRow row, bool withRules)
    {
        if (network.NicOf(row.Id) is not { } nic) return null;
        return new NicInfo(nic.Network, nic.Mac, nic.Address, nic.Tap, nic.Egress ?? network.Get(nic.Network).Egress, nic.RateKbit,
            network.ForwardsOf(row.Id).Select(f => $"{f.Protocol}/{f.HostPort}->{f.GuestPort}").ToArray(),
            withRules ? network.RulesOf($"workspace {row.Name}").ToArray() : null);
    }

    public async Task ExposeAsync(string name, ExposeRequest request, Caller caller, CancellationToken ct)
    {
        var row = Get(name, caller);
        await network.ExposeAsync(row, request.Protocol ?? "tcp", request.HostPort, request.GuestPort, caller, ct);
    }

    public string ConsoleLog(WorkspaceRow row) => Path.Combine(Dir(row.Id), "console.log");

    private string Dir(string id) => Path.Combine(_root, id);
    private string Overlay(string id) => Path.Combine(Dir(id), "disk.qcow2");

    public async Task<WorkspaceRow> CreateAsync(CreateWorkspaceRequest request, Caller caller, CancellationToken ct)
    {
        Names.CheckWorkspace(request.Name ?? "");
        if (string.IsNullOrEmpty(request.Image)) throw WorkspacesException.BadRequest("a workspace needs an image");
        var image = images.Get(request.Image);
        await images.AdmitAsync(image, ct);
        int vcpus = request.Vcpus ?? options.Value.DefaultVcpus;
        int memory = request.MemoryMiB ?? options.Value.DefaultMemoryMiB;
        Limits.Check(vcpus, memory, request.CpuQuotaPercent, request.CpuWeight, request.TasksMax, request.IoWeight, admission.MemoryFloorMiB);
        Limits.CheckCmdline(request.Cmdline);
        Limits.CheckEnforceable(resources.Mode, resources.Reason, request.CpuQuotaPercent, request.CpuWeight, request.TasksMax, request.IoWeight);
        var shape = admission.AdmitDefinition(new WorkspaceShape(vcpus, memory), request.AcceptOffer);
        if (request.Cmdline is not null && image.Kernel is null)
            throw WorkspacesException.BadRequest($"image '{image.Name}' has no kernel, so a kernel command line cannot apply");
        if (workspaces.Find(request.Name!) is not null) throw NameTaken(request.Name!);

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var row = new WorkspaceRow
        {
            Id = Guid.NewGuid().ToString("N")[..16],
            Name = request.Name!,
            Owner = caller.Uid,
            ImageId = image.Id,
            ImageName = image.Name,
            Vcpus = shape.Vcpus,
            MemoryMib = shape.MemoryMiB,
            CpuQuotaPercent = request.CpuQuotaPercent,
            CpuWeight = request.CpuWeight,
            TasksMax = request.TasksMax,
            IoWeight = request.IoWeight,
            Cmdline = request.Cmdline,
            State = WorkspaceStates.Defined,
            Reason = "created",
            CreatedAt = now,
            UpdatedAt = now,
        };

        // Host first, then the row: a create that loses the race for the name removes its files.
        await using var revert = new Reverter(logger);
        Directory.CreateDirectory(Dir(row.Id));
        revert.Add(() => Directory.Delete(Dir(row.Id), recursive: true));
        await WhileImageExistsAsync(image, async () =>
        {
            if (image.Disk is not null) await CreateOverlayAsync(row.Id, image, Overlay(row.Id), ct);
            if (!workspaces.TryInsert(row)) throw NameTaken(row.Name); // from here on the image cannot be removed
        });
        revert.Add(() => workspaces.Delete(row.Id));
        if (request.Network is { } networkName)
        {
            var nic = await network.AttachAsync(row, networkName, request.Egress, request.RateKbit, caller, ct);
            revert.Add(() => network.ReleaseAsync(row.Id, CancellationToken.None));
            await network.PublishAsync(nic, ct);
        }
        else if (request.Egress is not null || request.RateKbit is not null)
            throw WorkspacesException.BadRequest("an egress allowlist or a rate limit needs a network (--network)");
        revert.Success();
        Publish(row);
        return row;
    }

    /// <summary>
    /// The workspace's disk: a qcow2 on its image's disk blob, named by hash and reached through a
    /// link beside it (one per layer of the chain, since each delta names its parent the same way),
    /// so the overlay's header already is what a checked-in delta's must be.
    /// On a sealed lineage the overlay is sealed with the same key, so guest writes never land in clear.
    /// </summary>
    private async Task CreateOverlayAsync(string id, ImageRow image, string path, CancellationToken ct)
    {
        LinkBacking(id, image);
        string? passphrase = images.DiskChain(image).Sealed ? DiskKeys.Passphrase(images.Keys.Unseal(image)) : null;
        await qemuImg.CreateOverlayAsync(image.Disk!, image.DiskFormat!, path, image.DiskVirtualSize ?? 0, passphrase, ct);
    }

    private void LinkBacking(string id, ImageRow image)
    {
        foreach (var disk in images.Chain(image).Select(i => i.Disk).OfType<string>())
            if (!Path.Exists(Path.Combine(Dir(id), disk))) // a checked-in workspace keeps the links of its old chain
                File.CreateSymbolicLink(Path.Combine(Dir(id), disk), Path.GetRelativePath(Dir(id), images.BlobPath(disk)));
    }

    /// <summary>
    /// Runs the steps of a create that need the image until the workspace's row holds it. An image
    /// removed meanwhile makes them fail (qemu-img finds no blob, or the row's reference is refused):
    /// that is a 409 saying so, not the tool's error.
    /// </summary>
    private async Task WhileImageExistsAsync(ImageRow image, Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch (Exception e) when (e is not WorkspacesException { Status: 409 } && !images.Exists(image.Id))
        {
            throw WorkspacesException.Conflict($"image '{image.Name}' was removed while the workspace was being made from it");
        }
    }

    private static WorkspacesException NameTaken(string name) =>
        WorkspacesException.Conflict($"a workspace named '{name}' already exists");

    /// <summary>Checks, without acting, that the caller may do this now (so the API can answer 4xx before 202).</summary>
    public WorkspaceRow Check(string name, WorkspaceAction action, Caller caller, bool force = false)
    {
        var row = Get(name, caller);
        if (!(force && action == WorkspaceAction.Delete)) WorkspaceStateMachine.Check(name, row.State, action);
        return row;
    }

    /// <summary>Answers a start that would not fit with its counter-offer now, before an operation is made.</summary>
    public void CheckAdmission(WorkspaceRow row, bool acceptOffer) =>
        admission.CheckStart(row.Id, new WorkspaceShape(row.Vcpus, row.MemoryMib), acceptOffer);

    public async Task DeleteAsync(string name, Caller caller, bool force, CancellationToken ct)
    {
        var row = Check(name, WorkspaceAction.Delete, caller, force);
        using var _ = await LockAsync(row.Id, ct);
        row = Get(name, caller);
        if (_guests.TryRemove(row.Id, out var guest))
        {
            await guest.KillAsync(ct);
            await guest.DisposeAsync();
        }
        // Also when no guest is attached: a start killed with the daemon may have left its cgroups.
        await resources.ReleaseAsync(row.Name);
        await network.ReleaseAsync(row.Id, ct); // its address back to the pool, its rules gone
        workspaces.Delete(row.Id);
        // Files last: a crash before this leaves a directory no row claims, which the next start removes.
        if (Directory.Exists(Dir(row.Id))) Directory.Delete(Dir(row.Id), recursive: true);
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "workspace.deleted", row.Name, null, "deleted", null), row.Owner);
    }

    private async Task<IDisposable> LockAsync(string id, CancellationToken ct)
    {
        var gate = _locks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }

    private void SetState(WorkspaceRow row, string state, string? reason, int? pid, string? accelerator)
    {
        workspaces.SetState(row.Id, state, reason, pid, accelerator);
        (row.State, row.Reason, row.Pid, row.Accelerator) = (state, reason, pid, accelerator);
        LifecycleLog.StateChanged(logger, row.Name, state, reason);
        Publish(row);
    }

    private void Publish(WorkspaceRow row) =>
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "workspace.state", row.Name, row.State, row.Reason, null), row.Owner);

    private GuestSpec SpecFor(WorkspaceRow row, ImageRow image, string accelerator) =>
        new(
            row.Name, row.Vcpus, row.MemoryMib, accelerator, Dir(row.Id),
            image.Disk is null ? null : Overlay(row.Id),
            image.Kernel is null ? null : images.BlobPath(image.Kernel),
            image.Initrd is null ? null : images.BlobPath(image.Initrd),
            row.Cmdline ?? image.Cmdline,
            RunAs: row.GuestUid);
}
