using Workspaces.Client;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Resources;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>A workspace as `ws show` sees it: its row, where its limits live while it runs, and its NIC with forwards and rules.</summary>
public sealed class WorkspaceViews(GuestSupervisor guests, IResourceController resources, NetworkService network)
{
    public WorkspaceInfo Full(WorkspaceRow row, bool withRules) =>
        row.ToInfo() with { Unit = guests.IsAttached(row.Id) ? resources.Location(row.Id) : null, Nic = Nic(row, withRules) };

    private NicInfo? Nic(WorkspaceRow row, bool withRules)
    {
        if (network.NicOf(row.Id) is not { } nic) return null;
        return new NicInfo(nic.Network, nic.Mac, nic.Address, nic.Tap, nic.Egress ?? network.Get(nic.Network).Egress, nic.RateKbit,
            network.ForwardsOf(row.Id).Select(f => $"{f.Protocol}/{f.HostPort}->{f.GuestPort}").ToArray(),
            withRules ? network.RulesOf($"workspace {row.Id}").ToArray() : null);
    }
}
