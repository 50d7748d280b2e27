using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The NIC a moved workspace arrives with, whichever way it moved: its MAC (a copy's is new), on the network
/// of the same name, with its own egress allowlist and rate limit from the ticket, checked again here (it is
/// the peer's text). Its rules are made from it when it starts here.
/// </summary>
public static class ArrivingNic
{
    public static NicRow For(MigrationTicket ticket, string workspaceId) => new()
    {
        WorkspaceId = workspaceId, Network = ticket.Network, Mac = ticket.IsCopy() ? MacAddresses.New() : ticket.Mac, Tap = "wst" + workspaceId[..12],
        Egress = ticket.Egress is null ? null : Egress.Normalize(ticket.Egress), RateKbit = ticket.RateKbit is > 0 ? ticket.RateKbit : null,
    };
}
