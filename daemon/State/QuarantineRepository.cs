using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>Quarantines kept in SQLite, so an isolated workspace stays isolated across a daemon restart.</summary>
public sealed class QuarantineRepository(Database db)
{
    public IReadOnlyList<QuarantineRow> List()
    {
        using var c = db.Open();
        return c.Query<QuarantineRow>("SELECT * FROM quarantines ORDER BY since").AsList();
    }

    public QuarantineRow? Find(string workspaceId)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<QuarantineRow>("SELECT * FROM quarantines WHERE workspace_id = @workspaceId", new { workspaceId });
    }

    /// <summary>False when the workspace is already in quarantine (the first decision stands).</summary>
    public bool TryInsert(QuarantineRow row)
    {
        using var c = db.Open();
        return c.Execute("""
            INSERT INTO quarantines (workspace_id, action, reason, since, by_policy, actor_uid)
            VALUES (@WorkspaceId, @Action, @Reason, @Since, @ByPolicy, @ActorUid)
            ON CONFLICT (workspace_id) DO NOTHING
            """, row) == 1;
    }

    public bool Delete(string workspaceId)
    {
        using var c = db.Open();
        return c.Execute("DELETE FROM quarantines WHERE workspace_id = @workspaceId", new { workspaceId }) == 1;
    }
}
