using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>
/// The destination's announced transfers, by ticket hash: written at Perform before anything arrives, so a
/// restarted destination knows which workspace it was receiving and what it was promised (issue #13 item 8).
/// </summary>
public sealed class MigrationTransferRepository(Database db)
{
    public void Record(string ticketHash, string performJson)
    {
        using var c = db.Open();
        c.Execute("INSERT INTO migration_transfers (ticket_hash, perform) VALUES (@ticketHash, @performJson) ON CONFLICT (ticket_hash) DO UPDATE SET perform = excluded.perform",
            new { ticketHash, performJson });
    }

    public MigrationTransferRow? Find(string ticketHash)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<MigrationTransferRow>("SELECT ticket_hash, perform FROM migration_transfers WHERE ticket_hash = @ticketHash", new { ticketHash });
    }

    /// <summary>Once the move has an outcome here the announcement has served.</summary>
    public void Forget(string ticketHash)
    {
        using var c = db.Open();
        c.Execute("DELETE FROM migration_transfers WHERE ticket_hash = @ticketHash", new { ticketHash });
    }
}
