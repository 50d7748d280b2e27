using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>The members this host runs for playgrounds its peers applied, in SQLite.</summary>
public sealed class PlaygroundHostedRepository(Database db)
{
    public IReadOnlyList<PlaygroundHostedMemberRow> List()
    {
        using var c = db.Open();
        return c.Query<PlaygroundHostedMemberRow>("SELECT * FROM playground_hosted_members ORDER BY playground, role, idx").AsList();
    }

    public IReadOnlyList<PlaygroundHostedMemberRow> Of(string playground, string appliedBy)
    {
        using var c = db.Open();
        return c.Query<PlaygroundHostedMemberRow>(
            "SELECT * FROM playground_hosted_members WHERE playground = @playground AND applied_by = @appliedBy ORDER BY role, idx",
            new { playground, appliedBy }).AsList();
    }

    public PlaygroundHostedMemberRow? Find(string workspaceId)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<PlaygroundHostedMemberRow>("SELECT * FROM playground_hosted_members WHERE workspace_id = @workspaceId", new { workspaceId });
    }

    public void Add(PlaygroundHostedMemberRow row)
    {
        using var c = db.Open();
        c.Execute("""
            INSERT INTO playground_hosted_members (workspace_id, playground, applied_by, name, role, idx, recorded_at)
            VALUES (@WorkspaceId, @Playground, @AppliedBy, @Name, @Role, @Idx, @RecordedAt)
            """, row);
    }
}
