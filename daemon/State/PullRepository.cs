using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>
/// The image_pulls table: a row from the moment a pull is asked for until its image is registered or
/// refused for good, so a pull a crash interrupted resumes at start (its pieces wait in .pulls).
/// </summary>
public sealed class PullRepository(Database db)
{
    /// <summary>Records a pull; asking again for the same image replaces the row (one pull per image).</summary>
    public void Record(PullRow row)
    {
        using var c = db.Open();
        c.Execute("""
            INSERT INTO image_pulls (image, from_peer, owner, started_at) VALUES (@Image, @FromPeer, @Owner, @StartedAt)
            ON CONFLICT (image) DO UPDATE SET from_peer = excluded.from_peer, owner = excluded.owner, started_at = excluded.started_at
            """, row);
    }

    public IReadOnlyList<PullRow> List()
    {
        using var c = db.Open();
        return c.Query<PullRow>("SELECT image, from_peer, owner, started_at FROM image_pulls ORDER BY started_at").AsList();
    }

    public void Finish(string image)
    {
        using var c = db.Open();
        c.Execute("DELETE FROM image_pulls WHERE image = @image", new { image });
    }
}
