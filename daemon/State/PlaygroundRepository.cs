using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>Playgrounds and their members in SQLite.</summary>
public sealed class PlaygroundRepository(Database db)
{
    public IReadOnlyList<PlaygroundRow> List()
    {
        using var c = db.Open();
        return c.Query<PlaygroundRow>("SELECT * FROM playgrounds ORDER BY name").AsList();
    }

    public PlaygroundRow? Find(string name)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<PlaygroundRow>("SELECT * FROM playgrounds WHERE name = @name", new { name });
    }

    /// <summary>Records the document applied: inserts the playground, or replaces its document (its key pair stays).</summary>
    public void Save(PlaygroundRow row)
    {
        using var c = db.Open();
        c.Execute("""
            INSERT INTO playgrounds (name, owner, document, ssh_public, ssh_sealed, created_at, applied_at)
            VALUES (@Name, @Owner, @Document, @SshPublic, @SshSealed, @CreatedAt, @AppliedAt)
            ON CONFLICT (name) DO UPDATE SET document = excluded.document, applied_at = excluded.applied_at
            """, row);
    }

    public void Delete(string name)
    {
        using var c = db.Open();
        c.Execute("DELETE FROM playgrounds WHERE name = @name", new { name });
    }

    public IReadOnlyList<PlaygroundMemberRow> Members(string playground)
    {
        using var c = db.Open();
        return c.Query<PlaygroundMemberRow>("""
            SELECT playground, workspace_id, name, role, idx, NULL AS host FROM playground_members WHERE playground = @playground
            UNION ALL
            SELECT playground, '' AS workspace_id, name, role, idx, host FROM playground_remote_members WHERE playground = @playground
            ORDER BY role, idx
            """, new { playground }).AsList();
    }

    /// <summary>Records a member made on a peer (its workspace is the peer's; this host knows it by name and host).</summary>
    public void AddRemoteMember(PlaygroundMemberRow row)
    {
        using var c = db.Open();
        c.Execute("INSERT INTO playground_remote_members (playground, name, role, idx, host) VALUES (@Playground, @Name, @Role, @Idx, @Host)", row);
    }

    public void DeleteRemoteMember(string playground, string name)
    {
        using var c = db.Open();
        c.Execute("DELETE FROM playground_remote_members WHERE playground = @playground AND name = @name", new { playground, name });
    }

    public void AddMember(PlaygroundMemberRow row)
    {
        using var c = db.Open();
        c.Execute("INSERT INTO playground_members (playground, workspace_id, name, role, idx) VALUES (@Playground, @WorkspaceId, @Name, @Role, @Idx)", row);
    }
}
