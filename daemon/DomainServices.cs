using Workspaces.Daemon.Core;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Processes;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon;

/// <summary>
/// The daemon's domain, wired once: state, images and trust, networks, the lifecycle, peers. The host
/// binds the two seams to the machine (IHypervisor: QEMU; IResourceController: systemd, cgroups or
/// none); the lifecycle unit tests bind them to fakes and use this same wiring.
/// </summary>
public static class DomainServices
{
    public static IServiceCollection AddWorkspacesDomain(this IServiceCollection services, string stateDir) => services
        .AddSingleton<CommandRunner>()
        .AddSingleton(new Database(Path.Combine(stateDir, "workspaces.db")))
        .AddSingleton<ImageRepository>()
        .AddSingleton<WorkspaceRepository>()
        .AddSingleton<CheckinRepository>()
        .AddSingleton<DataDiskRepository>()
        .AddSingleton<SavedStateRepository>()
        .AddSingleton<TrustRepository>()
        .AddSingleton<BlobPieceRepository>()
        .AddSingleton(new ImageStore(stateDir))
        .AddSingleton(new HostIdentity(stateDir))
        .AddSingleton(new WireGuardKey(stateDir))
        .AddSingleton<TrustPolicy>()
        .AddSingleton<QemuImg>()
        .AddSingleton<ImageIntegrity>()
        .AddSingleton<DiskKeys>()
        .AddSingleton<ImageService>()
        .AddSingleton<ImageFactory>()
        .AddSingleton<ChainImport>()
        .AddSingleton<ImageArchive>()
        .AddSingleton<BlobPieces>()
        .AddSingleton<NetworkRepository>()
        .AddSingleton<Links>()
        .AddSingleton<DhcpServer>()
        .AddSingleton<QuarantineRepository>() // wt-detect
        .AddSingleton<Firewall>()
        .AddSingleton<NetworkService>()
        .AddSingleton<WireGuardTunnel>()
        .AddSingleton<SpanLinks>()
        .AddSingleton<UnderlayPaths>()
        .AddSingleton<Hypervisor.KvmProbe>()
        .AddSingleton<Hypervisor.CpuCatalog>()
        .AddSingleton<EventBus>()
        .AddSingleton<Audit.AuditLog>()
        .AddSingleton<Core.IAuditRecorder>(sp => sp.GetRequiredService<Audit.AuditLog>())
        .AddSingleton<Audit.AuditReader>()
        .AddSingleton<Admission>()
        .AddSingleton(new WorkspaceLayout(GuestFiles.Prepare(Path.GetFullPath(Path.Combine(stateDir, "workspaces")))))
        .AddSingleton<WorkspaceAccess>()
        .AddSingleton<WorkspaceLocks>()
        .AddSingleton<GuestUidSlot>()
        .AddSingleton<WorkspaceRecorder>()
        .AddSingleton<WorkspaceDisks>()
        .AddSingleton<WorkspaceDataDisks>()
        .AddSingleton<GuestSpecs>()
        .AddSingleton<GuestRepository>()
        .AddSingleton<Guests.SeedDisk>()
        .AddSingleton<WorkspaceGuests>()
        .AddSingleton<Hypervisor.Qemu.GuestAgents>() // wt-agent's registry of agent connections (keep one registration at merge)
        .AddSingleton<FirstBootWatch>()
        .AddSingleton<JobWait>()
        .AddSingleton<GuestSupervisor>()
        .AddSingleton<WorkspaceDefinitions>()
        .AddSingleton<WorkspaceTransitions>()
        .AddSingleton<WorkspaceFactory>()
        .AddSingleton<Hypervisor.Qemu.GuestAgents>()
        .AddSingleton<WorkspaceAgent>()
        .AddSingleton<WorkspaceRunner>()
        .AddSingleton<Quarantine>()
        .AddSingleton<TrafficWatch>()
        .AddSingleton<WorkspaceSnapshots>()
        .AddSingleton<SavedStates>()
        .AddSingleton<CloneIdentity>()
        .AddSingleton<TemplateRam>()
        .AddSingleton<PeerRepository>()
        .AddSingleton(sp => new PeerCertificate(stateDir, sp.GetRequiredService<HostIdentity>()))
        .AddSingleton<PeerChannel>()
        .AddSingleton(_ => new PeerStreams(TimeProvider.System))
        .AddSingleton<LiveTransfer>()
        .AddSingleton<PeerDirectory>()
        .AddSingleton<ISpanPeers, SpanPeers>()
        .AddSingleton<PeerMonitor>()
        .AddSingleton<PeerInventory>()
        .AddSingleton<PullRepository>()
        .AddSingleton<PlacementAdmission>()
        .AddSingleton<PlacementChain>()
        .AddSingleton<Placement>()
        // Moves (#13): the ticket checks and the journal both sides keep.
        .AddSingleton<MigrationRepository>()
        .AddSingleton<TicketAdmission>()
        .AddSingleton<TicketIssuer>()
        .AddSingleton<MoveCoordinator>()
        .AddSingleton<ColdTransfer>()
        .AddSingleton<LiveMove>() // wt-livemove: the source's live move (the destination's, LiveReceiver, is in Program beside MoveReceiver)
        .AddSingleton<MigrationTransferRepository>() // wt-recover: settling half-done moves
        .AddSingleton<MoveRecovery>()
        .AddSingleton<MigrationResolver>()
        .AddSingleton(TimeProvider.System)
        .AddSingleton<PeerProxy>()
        .AddSingleton<PlaygroundRepository>() // wt-playground
        .AddSingleton<Playgrounds.PlaygroundPeers>() // wt-pgpeers
        .AddSingleton<Playgrounds.PlaygroundHosts>() // wt-pgpeers
        .AddSingleton<Playgrounds.PlaygroundPlanner>()
        .AddSingleton<Playgrounds.PlaygroundIdentityIssuer>()
        .AddSingleton<PlaygroundHostedRepository>() // wt-pgtrust
        .AddSingleton<Playgrounds.PlaygroundHostedMembers>() // wt-pgtrust
        .AddSingleton<Playgrounds.PlaygroundPeerEntries>() // wt-pgtrust
        .AddSingleton<Playgrounds.PlaygroundExporter>()
        .AddSingleton<Playgrounds.PlaygroundContext>();
}
