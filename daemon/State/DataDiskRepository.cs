using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>The data disks of workspaces, in their plug order.</summary>
public sealed class DataDiskRepository(Database db)
{
    private const string Columns = "workspace_id, name, kind, size, image_id, serial, position, sealed, created_at";

    public IReadOnlyList<DataDiskRow> Of(string workspaceId)
    {
        using var c = db.Open();
        return c.Query<DataDiskRow>($"SELECT {Columns} FROM data_disks WHERE workspace_id = @workspaceId ORDER BY position", new { workspaceId }).AsList();
    }

    /// <summary>False when the name or the position is taken meanwhile (the caller holds the workspace's lock, so only by a bug).</summary>
    public bool TryInsert(DataDiskRow row)
    {
        using var c = db.Open();
        return c.Execute($"""
            INSERT INTO data_disks ({Columns}) VALUES (@WorkspaceId, @Name, @Kind, @Size, @ImageId, @Serial, @Position, @Sealed, @CreatedAt)
            ON CONFLICT DO NOTHING
            """, row) == 1;
    }

    public void Delete(string workspaceId, string name) => db.Freeing(() =>
    {
        using var c = db.Open();
        c.Execute("DELETE FROM data_disks WHERE workspace_id = @workspaceId AND name = @name", new { workspaceId, name });
    });
}
