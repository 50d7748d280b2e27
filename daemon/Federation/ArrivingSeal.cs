using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// A sealed lineage's disk key arrives only in the ticket, sealed by the source to this host's X25519 key
/// (admission opened it once, to check it): it is kept as this host's seal of every sealed image of the chain,
/// so the workspace's overlay can be made and opened here, whichever way it moved. The key is never stored in clear.
/// </summary>
public static class ArrivingSeal
{
    public static void Keep(MigrationTicket ticket, ImageRepository imageRows, string sealingPublicKey)
    {
        if (ticket.SealedDiskKey is null) return;
        string sealedKey = Convert.ToBase64String(Convert.FromHexString(ticket.SealedDiskKey));
        foreach (string id in ticket.ImageChain.Where(id => imageRows.Keys(id).Count > 0))
            imageRows.AddKey(new ImageKeyRow(id, sealingPublicKey, sealedKey));
    }
}
