using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Workspaces.Client;
using Workspaces.Daemon;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Tests.Unit.Fakes;

/// <summary>
/// The daemon's domain, wired by DI as Program.cs wires it, over a TestMachine: real SQLite in the
/// machine's state dir, real repositories, ImageService, trust, admission and lifecycle classes. Only
/// the host-touching seams differ: the hypervisor and the resource controller are the machine's
/// fakes. NetworkService is the real one: its parts (ip, dnsmasq, nftables) are only reached for a
/// workspace with a NIC, which these tests never make. KvmProbe answers "tcg" from its options,
/// without probing. No Kestrel, no hosted services: a test calls the classes the API would.
/// </summary>
public sealed class InProcessDaemon : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private InProcessDaemon(TestMachine machine, ServiceProvider services, RecordingLoggerProvider logs)
    {
        Machine = machine;
        _services = services;
        Logs = logs;
    }

    public TestMachine Machine { get; }
    public RecordingLoggerProvider Logs { get; }
    public FakeHypervisor Hypervisor => Machine.Hypervisor;
    public FakeResourceController Resources => Machine.Resources;

    public WorkspaceDefinitions Definitions => Get<WorkspaceDefinitions>();
    public WorkspaceTransitions Transitions => Get<WorkspaceTransitions>();
    public GuestSupervisor Guests => Get<GuestSupervisor>();
    public WorkspaceRepository Workspaces => Get<WorkspaceRepository>();
    public ImageService Images => Get<ImageService>();
    public GuestSpecs Specs => Get<GuestSpecs>();
    public WorkspaceLayout Layout => Get<WorkspaceLayout>();
    public EventBus Events => Get<EventBus>();

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>A daemon on the machine, as after `workspacesd` started (without its re-attach: call Guests.ReattachAllAsync).</summary>
    public static InProcessDaemon Start(TestMachine machine, Action<WorkspacesOptions>? configure = null)
    {
        string stateDir = machine.StateDir;
        var logs = new RecordingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddOptions<WorkspacesOptions>().Configure(o =>
        {
            o.StateDir = stateDir;
            o.Accelerator = "tcg"; // KvmProbe decides from this, without running a probe guest
            o.Policy.CapacityCpus = 8;
            o.Policy.CapacityMemoryMiB = 8192;
            o.Policy.CpuOvercommit = 1;
            configure?.Invoke(o);
        });
        services
            .AddWorkspacesDomain(stateDir) // the daemon's own wiring; only the two seams are fakes
            .AddSingleton<IHypervisor>(machine.Hypervisor)
            .AddSingleton<IResourceController>(machine.Resources);
        return new InProcessDaemon(machine, services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }), logs);
    }

    /// <summary>
    /// A boot-set image (a kernel and an initrd, no disk, so no qemu-img) through the real import:
    /// tiny files that pass its magic-number checks, hashed into the blob store and registered.
    /// </summary>
    public async Task<ImageRow> ImportBootSetAsync(string name = "tiny")
    {
        var kernel = new byte[0x400];
        "HdrS"u8.CopyTo(kernel.AsSpan(0x202));
        byte[] initrd = [.. "070701"u8, .. new byte[122]];
        await using var import = Images.BeginImport();
        await import.AddPartAsync("kernel", new MemoryStream(kernel), null, CancellationToken.None);
        await import.AddPartAsync("initrd", new MemoryStream(initrd), null, CancellationToken.None);
        return await import.CommitAsync(name, "console=ttyS0", encrypt: false, [], CancellationToken.None);
    }

    public Task<WorkspaceRow> CreateAsync(string name, string image = "tiny", int vcpus = 1, int memoryMiB = 128) =>
        Definitions.CreateAsync(new CreateWorkspaceRequest(name, image, vcpus, memoryMiB), Caller.System, CancellationToken.None);

    public Task<WorkspaceRow> ActAsync(string name, WorkspaceAction action, ActionOptions? how = null) =>
        Transitions.ActAsync(name, action, Caller.System, how ?? new ActionOptions(), CancellationToken.None);

    /// <summary>The workspace as SQLite records it now.</summary>
    public WorkspaceRow Row(string name) =>
        Workspaces.Find(Caller.System.Namespace, name) ?? throw new InvalidOperationException($"no workspace '{name}' in SQLite");

    /// <summary>The daemon stops as workspacesd does (it lets go of its guests without stopping any).</summary>
    public async ValueTask DisposeAsync()
    {
        await Guests.DetachAllAsync();
        await _services.DisposeAsync();
    }
}
