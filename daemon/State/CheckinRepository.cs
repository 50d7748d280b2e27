using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>
/// Checkins as recorded multi-step transactions: the intent first, then the image and the
/// workspace's move onto it in one transaction, then the row goes. A row left behind is a checkin
/// a crash interrupted; its step says which way to finish it.
/// </summary>
public sealed class CheckinRepository(Database db)
{
    public void Record(CheckinRow row)
    {
        using var c = db.Open();
        c.Execute("""
            INSERT INTO checkins (workspace_id, image_id, disk, adopted, step, started_at)
            VALUES (@WorkspaceId, @ImageId, @Disk, @Adopted, @Step, @StartedAt)
            """, row);
    }

    /// <summary>The image, its signatures and keys, the workspace now on it, and the step: all or nothing.</summary>
    public void Register(CheckinRow row, ImageRow image, IEnumerable<SignatureRow> signatures, IEnumerable<ImageKeyRow> keys)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        ImageRepository.Insert(c, tx, image, signatures, keys);
        c.Execute("UPDATE workspaces SET image_id = @ImageId, updated_at = @StartedAt WHERE id = @WorkspaceId", row, tx);
        c.Execute("UPDATE checkins SET step = 'registered' WHERE workspace_id = @WorkspaceId", row, tx);
        tx.Commit();
        row.Step = CheckinRow.Registered;
    }

    public void Finish(string workspaceId)
    {
        using var c = db.Open();
        c.Execute("DELETE FROM checkins WHERE workspace_id = @workspaceId", new { workspaceId });
    }

    public CheckinRow? Find(string workspaceId)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<CheckinRow>(
            "SELECT workspace_id, image_id, disk, adopted, step, started_at FROM checkins WHERE workspace_id = @workspaceId", new { workspaceId });
    }

    public IReadOnlyList<CheckinRow> Unfinished()
    {
        using var c = db.Open();
        return c.Query<CheckinRow>("SELECT workspace_id, image_id, disk, adopted, step, started_at FROM checkins").AsList();
    }
}
