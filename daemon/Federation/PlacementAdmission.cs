using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Admission's judgement of a workspace that does not exist yet, for placement: would this host define
/// it (policy maxima) and start it now (free capacity)? Nothing is reserved: the answer may be stale by
/// the time a launch arrives, and then that launch is refused or offered less as any other would be.
/// </summary>
public sealed class PlacementAdmission(Admission admission, IAuditRecorder audit, IOptionsMonitor<WorkspacesOptions> options)
{
    public PeerAdmissionAnswer Judge(int? vcpus, int? memoryMiB)
    {
        var o = options.CurrentValue;
        var asked = new WorkspaceShape(vcpus ?? o.DefaultVcpus, memoryMiB ?? o.DefaultMemoryMiB);
        var capacity = admission.Capacity;
        var committed = admission.Committed();
        int freeVcpus = Math.Max(0, capacity.Vcpus - committed.Vcpus), freeMemory = Math.Max(0, capacity.MemoryMiB - committed.MemoryMiB);
        try
        {
            Limits.Check(asked.Vcpus, asked.MemoryMiB, null, null, null, null, admission.MemoryFloorMiB);
            admission.AdmitDefinition(asked, acceptOffer: false);
            // No workspace has the empty id, so every running one counts against the new one.
            admission.CheckStart("", asked, acceptOffer: false);
            return new PeerAdmissionAnswer(true, asked, null, null, freeVcpus, freeMemory, capacity.Vcpus, capacity.MemoryMiB);
        }
        catch (WorkspacesException e) when (e.Status is 400 or 409)
        {
            // A shape below this host's memory floor is this host's refusal, not a bad request of the asker's.
            // Asked by a read (a peer placing, or this host ranking itself), so no request record says it: this one does.
            audit.Decided("admission.refused", null, null, new Dictionary<string, string>
            {
                ["vcpus"] = asked.Vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["memoryMiB"] = asked.MemoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, e.Status, e.Message);
            return new PeerAdmissionAnswer(false, asked, e.Message, e.Offer, freeVcpus, freeMemory, capacity.Vcpus, capacity.MemoryMiB);
        }
    }
}
