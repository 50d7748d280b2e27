using System.Reflection;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

public static class HostEndpoints
{
    public static void MapHostEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/host", async (KvmProbe kvm, WorkspaceRepository workspaces, GuestSupervisor guests, IResourceController resources, Admission admission,
            IOptions<WorkspacesOptions> options, HostIdentity identity, PeerCertificate tls, Federation.PeerDirectory peers) =>
        {
            var accelerator = await kvm.Choice;
            var capacity = admission.Capacity;
            var committed = admission.Committed();
            return Results.Json(new HostInfo(
                Assembly.GetExecutingAssembly().GetName().Version?.ToString(3) ?? "0.0.0",
                Environment.MachineName,
                accelerator.Accelerator,
                accelerator.Reason,
                Environment.ProcessorCount,
                HostMemory.TotalMiB(),
                workspaces.Count(),
                guests.Count,
                options.Value.StateDir,
                capacity.Vcpus, capacity.MemoryMiB, committed.Vcpus, committed.MemoryMiB,
                resources.Mode, resources.Reason,
                identity.SigningPublicKey, KeyText.Fingerprint(identity.SigningPublicKey),
                identity.SealingPublicKey, KeyText.Fingerprint(identity.SealingPublicKey),
                tls.Fingerprint, options.Value.Peers.Listen, peers.Name), WorkspacesJson.Default.HostInfo);
        }).WithSummary("version, accelerator and the reason for it, CPUs, memory, capacity, keys, the peer TLS fingerprint").Produces<HostInfo>();
    }


}
