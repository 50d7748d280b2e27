using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>The images table.</summary>
public sealed class ImageRepository(Database db)
{
    public IReadOnlyList<ImageRow> List()
    {
        using var c = db.Open();
        return c.Query<ImageRow>("SELECT * FROM images ORDER BY name").AsList();
    }

    /// <summary>By name, full fingerprint, or a unique fingerprint prefix of at least 12 characters.</summary>
    public ImageRow? Find(string reference)
    {
        using var c = db.Open();
        var byName = c.QuerySingleOrDefault<ImageRow>("SELECT * FROM images WHERE name = @reference OR id = @reference", new { reference });
        if (byName is not null || reference.Length < 12) return byName;
        var byPrefix = c.Query<ImageRow>("SELECT * FROM images WHERE id LIKE @prefix", new { prefix = reference.ToLowerInvariant() + "%" }).AsList();
        return byPrefix.Count == 1 ? byPrefix[0] : null;
    }

    public void Insert(ImageRow image)
    {
        using var c = db.Open();
        c.Execute("""
            INSERT INTO images (id, name, kind, disk, disk_format, disk_virtual_size, kernel, initrd, cmdline, size, created_at)
            VALUES (@Id, @Name, @Kind, @Disk, @DiskFormat, @DiskVirtualSize, @Kernel, @Initrd, @Cmdline, @Size, @CreatedAt)
            """, image);
    }

    /// <summary>Deletes the row unless a workspace uses it; returns the names of the workspaces that do.</summary>
    public IReadOnlyList<string> DeleteUnlessUsed(string id)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        var users = c.Query<string>("SELECT name FROM workspaces WHERE image_id = @id ORDER BY name", new { id }, tx).AsList();
        if (users.Count == 0)
        {
            c.Execute("DELETE FROM images WHERE id = @id", new { id }, tx);
            tx.Commit();
        }
        return users;
    }

    /// <summary>Whether any image still refers to a blob (blobs are shared between images).</summary>
    public bool BlobInUse(string sha256)
    {
        using var c = db.Open();
        return c.ExecuteScalar<bool>(
            "SELECT EXISTS (SELECT 1 FROM images WHERE disk = @sha256 OR kernel = @sha256 OR initrd = @sha256)", new { sha256 });
    }
}
