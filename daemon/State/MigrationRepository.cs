using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>
/// The migrations table: each side's durable journal of a move, and the memory of every ticket seen.
/// </summary>
public sealed class MigrationRepository(Database db)
{
    private const string Columns =
        "ticket_hash, nonce, role, workspace_id, name, peer, mode, phase, outcome, detail, started_at, updated_at, copy";

    /// <summary>
    /// Records a ticket the first time it is seen; false when its hash or its nonce is already here
    /// (a replay), whatever became of it. The constraints decide races between two deliveries.
    /// </summary>
    public bool TryRecord(MigrationRow row)
    {
        using var c = db.Open();
        return c.Execute($"""
            INSERT INTO migrations ({Columns})
            VALUES (@TicketHash, @Nonce, @Role, @WorkspaceId, @Name, @Peer, @Mode, @Phase, @Outcome, @Detail, @StartedAt, @UpdatedAt, @Copy)
            ON CONFLICT DO NOTHING
            """, row) == 1;
    }

    public MigrationRow? Find(string ticketHash)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<MigrationRow>($"SELECT {Columns} FROM migrations WHERE ticket_hash = @ticketHash", new { ticketHash });
    }

    /// <summary>Written before the phase acts; a finished migration keeps its last phase.</summary>
    public void SetPhase(string ticketHash, string phase, long now)
    {
        using var c = db.Open();
        c.Execute("UPDATE migrations SET phase = @phase, updated_at = @now WHERE ticket_hash = @ticketHash AND outcome IS NULL",
            new { ticketHash, phase, now });
    }

    public void SetOutcome(string ticketHash, string outcome, string? detail, long now)
    {
        using var c = db.Open();
        c.Execute("UPDATE migrations SET outcome = @outcome, detail = @detail, updated_at = @now WHERE ticket_hash = @ticketHash",
            new { ticketHash, outcome, detail, now });
    }

    /// <summary>Migrations this host was part of that have no outcome yet, or whose outcome is Unknown: what a start resolves.</summary>
    public IReadOnlyList<MigrationRow> Unresolved()
    {
        using var c = db.Open();
        return c.Query<MigrationRow>($"SELECT {Columns} FROM migrations WHERE outcome IS NULL OR outcome = 'Unknown' ORDER BY started_at").AsList();
    }

    public IReadOnlyList<MigrationRow> List()
    {
        using var c = db.Open();
        return c.Query<MigrationRow>($"SELECT {Columns} FROM migrations ORDER BY started_at").AsList();
    }

    public IReadOnlyList<MigrationRow> ForWorkspace(string workspaceId)
    {
        using var c = db.Open();
        return c.Query<MigrationRow>($"SELECT {Columns} FROM migrations WHERE workspace_id = @workspaceId ORDER BY started_at", new { workspaceId }).AsList();
    }
}
