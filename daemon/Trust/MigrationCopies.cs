namespace Workspaces.Daemon.Trust;

/// <summary>
/// A copy (`ws move --keep-source`, the paper's copying operation) arrives with a new identity: its id on the
/// destination is derived from the ticket's hash, so both hosts know it without another exchange and no two
/// tickets (every one has its own nonce) give the same id; a move keeps the workspace's own id.
/// </summary>
public static class MigrationCopies
{
    public static bool IsCopy(this MigrationTicket ticket) => ticket.CopyAs is not null;

    /// <summary>The workspace's id on the destination.</summary>
    public static string ArrivingId(this MigrationTicket ticket, string hash) => ticket.IsCopy() ? hash[..16] : ticket.WorkspaceId;

    /// <summary>The workspace's name on the destination.</summary>
    public static string ArrivingName(this MigrationTicket ticket) => ticket.CopyAs ?? ticket.Name;
}
