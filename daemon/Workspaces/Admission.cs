using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// Negotiation between a workspace and the host. A shape over the policy's maxima, or over what the
/// host has free, is refused with a 409 carrying the largest shape that can be granted (a
/// counter-offer); the caller may take it. Starts are admitted one at a time, so two starts can
/// never both take the last of the capacity: the host is never overcommitted.
/// </summary>
public sealed class Admission(WorkspaceRepository workspaces, IOptionsMonitor<WorkspacesOptions> options)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    private PolicyOptions Policy => options.CurrentValue.Policy;

    /// <summary>The least memory a workspace may have here (policy.minMemoryMiB, never below Limits.MinMemoryMiB).</summary>
    public int MemoryFloorMiB => Math.Max(Limits.MinMemoryMiB, Policy.MinMemoryMiB);

    public WorkspaceShape Capacity
    {
        get
        {
            var p = Policy;
            int cpus = p.CapacityCpus > 0 ? p.CapacityCpus : Environment.ProcessorCount;
            long memory = p.CapacityMemoryMiB > 0 ? p.CapacityMemoryMiB : HostMemory.TotalMiB() - p.ReservedMemoryMiB;
            return new WorkspaceShape((int)Math.Floor(cpus * p.CpuOvercommit), (int)Math.Max(0, Math.Floor(memory * p.MemoryOvercommit)));
        }
    }

    public WorkspaceShape Committed(string? exceptId = null)
    {
        var c = workspaces.Committed(exceptId);
        return new WorkspaceShape(c.Vcpus, c.MemoryMib);
    }

    /// <summary>At create: the shape must be within the policy's maxima. Returns the shape to use.</summary>
    public WorkspaceShape AdmitDefinition(WorkspaceShape asked, bool acceptOffer)
    {
        var p = Policy;
        var capacity = Capacity;
        var offer = new WorkspaceShape(
            Math.Min(asked.Vcpus, Math.Min(p.MaxVcpus, capacity.Vcpus)),
            Math.Min(asked.MemoryMiB, Math.Min(p.MaxMemoryMiB, capacity.MemoryMiB)));
        return Decide(asked, offer, acceptOffer,
            $"the host's policy allows at most {Math.Min(p.MaxVcpus, capacity.Vcpus)} vCPUs and {Math.Min(p.MaxMemoryMiB, capacity.MemoryMiB)} MiB per workspace");
    }

    /// <summary>
    /// At start: the shape must fit in what running workspaces leave free. Holds the admission gate
    /// until the returned lease is disposed, which the caller does once the start is recorded.
    /// </summary>
    public async Task<(WorkspaceShape Shape, IDisposable Lease)> AdmitStartAsync(string id, WorkspaceShape asked, bool acceptOffer, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return (CheckStart(id, asked, acceptOffer), new Lease(_gate));
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    /// <summary>The same judgement without holding the gate: to answer 409 before an operation is made.</summary>
    public WorkspaceShape CheckStart(string id, WorkspaceShape asked, bool acceptOffer)
    {
        var capacity = Capacity;
        var committed = Committed(id);
        var free = new WorkspaceShape(capacity.Vcpus - committed.Vcpus, capacity.MemoryMiB - committed.MemoryMiB);
        var offer = new WorkspaceShape(Math.Min(asked.Vcpus, free.Vcpus), Math.Min(asked.MemoryMiB, free.MemoryMiB));
        return Decide(asked, offer, acceptOffer,
            $"the host has {Math.Max(0, free.Vcpus)} vCPUs and {Math.Max(0, free.MemoryMiB)} MiB free of {capacity.Vcpus} vCPUs and {capacity.MemoryMiB} MiB");
    }

    private WorkspaceShape Decide(WorkspaceShape asked, WorkspaceShape offer, bool acceptOffer, string why)
    {
        if (offer == asked) return asked;
        if (offer.Vcpus < 1 || offer.MemoryMiB < MemoryFloorMiB)
            throw WorkspacesException.Conflict($"cannot admit {asked.Vcpus} vCPUs and {asked.MemoryMiB} MiB: {why}, too little for any workspace");
        if (acceptOffer) return offer;
        throw new WorkspacesException(409, "Counter-offer",
            $"cannot admit {asked.Vcpus} vCPUs and {asked.MemoryMiB} MiB: {why}; offered {offer.Vcpus} vCPUs and {offer.MemoryMiB} MiB (accept with acceptOffer)")
        { Offer = offer };
    }

    private sealed class Lease(SemaphoreSlim gate) : IDisposable
    {
        private int _released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }
}
