using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>The images aggregate: images, their signatures and sealed keys, and the blobs' last checks.</summary>
public sealed class ImageRepository(Database db)
{
    public IReadOnlyList<ImageRow> List()
    {
        using var c = db.Open();
        return c.Query<ImageRow>("SELECT * FROM images ORDER BY name").AsList();
    }

    public int Count()
    {
        using var c = db.Open();
        return c.ExecuteScalar<int>("SELECT COUNT(*) FROM images");
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

    /// <summary>An image with its signatures and sealed keys, in one transaction.</summary>
    public void Insert(ImageRow image, IEnumerable<SignatureRow> signatures, IEnumerable<ImageKeyRow> keys)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        Insert(c, tx, image, signatures, keys);
        tx.Commit();
    }

    /// <summary>The same, inside a caller's transaction (a checkin also moves its workspace onto the image).</summary>
    internal static void Insert(System.Data.IDbConnection c, System.Data.IDbTransaction tx, ImageRow image,
        IEnumerable<SignatureRow> signatures, IEnumerable<ImageKeyRow> keys)
    {
        c.Execute("""
            INSERT INTO images (id, name, kind, disk, disk_format, disk_virtual_size, kernel, initrd, cmdline, size, created_at,
                                parent, tags, origin_workspace, origin_host, origin_host_key, encrypted,
                                state, state_format, state_memory_mib, state_vcpus)
            VALUES (@Id, @Name, @Kind, @Disk, @DiskFormat, @DiskVirtualSize, @Kernel, @Initrd, @Cmdline, @Size, @CreatedAt,
                    @Parent, @Tags, @OriginWorkspace, @OriginHost, @OriginHostKey, @Encrypted,
                    @State, @StateFormat, @StateMemoryMib, @StateVcpus)
            """, image, tx);
        foreach (var s in signatures) AddSignature(c, tx, s);
        foreach (var k in keys) AddKey(c, tx, k);
    }

    public IReadOnlyList<SignatureRow> Signatures(string imageId)
    {
        using var c = db.Open();
        return c.Query<SignatureRow>("SELECT image_id, signer, signature, signed_at FROM image_signatures WHERE image_id = @imageId ORDER BY signer",
            new { imageId }).AsList();
    }

    public void AddSignature(SignatureRow signature)
    {
        using var c = db.Open();
        AddSignature(c, null, signature);
    }

    private static void AddSignature(System.Data.IDbConnection c, System.Data.IDbTransaction? tx, SignatureRow s) =>
        c.Execute("""
            INSERT INTO image_signatures (image_id, signer, signature, signed_at) VALUES (@ImageId, @Signer, @Signature, @SignedAt)
            ON CONFLICT (image_id, signer) DO UPDATE SET signature = excluded.signature, signed_at = excluded.signed_at
            """, s, tx);

    public IReadOnlyList<ImageKeyRow> Keys(string imageId)
    {
        using var c = db.Open();
        return c.Query<ImageKeyRow>("SELECT image_id, recipient, sealed FROM image_keys WHERE image_id = @imageId ORDER BY recipient",
            new { imageId }).AsList();
    }

    public void AddKey(ImageKeyRow key)
    {
        using var c = db.Open();
        AddKey(c, null, key);
    }

    private static void AddKey(System.Data.IDbConnection c, System.Data.IDbTransaction? tx, ImageKeyRow k) =>
        c.Execute("""
            INSERT INTO image_keys (image_id, recipient, sealed) VALUES (@ImageId, @Recipient, @Sealed)
            ON CONFLICT (image_id, recipient) DO UPDATE SET sealed = excluded.sealed
            """, k, tx);

    /// <summary>
    /// Deletes the row unless something still needs it; returns what does: workspaces that use it
    /// and delta images built on it.
    /// </summary>
    public IReadOnlyList<string> DeleteUnlessUsed(string id) => db.Freeing(() =>
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        var users = c.Query<string>("""
            SELECT 'workspace ' || name FROM workspaces WHERE image_id = @id
            UNION ALL SELECT 'data disk ' || d.name || ' of workspace ' || w.name FROM data_disks d JOIN workspaces w ON w.id = d.workspace_id WHERE d.image_id = @id
            UNION ALL SELECT 'image ' || name FROM images WHERE parent = @id
            ORDER BY 1
            """, new { id }, tx).AsList();
        if (users.Count == 0)
        {
            c.Execute("DELETE FROM images WHERE id = @id", new { id }, tx);
            tx.Commit();
        }
        return users;
    });

    /// <summary>Images nothing refers to: no workspace, no tag, no delta on top of them.</summary>
    public IReadOnlyList<ImageRow> Unreferenced()
    {
        using var c = db.Open();
        return c.Query<ImageRow>("""
            SELECT * FROM images i
            WHERE i.tags = ''
              AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.image_id = i.id)
              AND NOT EXISTS (SELECT 1 FROM data_disks dd WHERE dd.image_id = i.id)
              AND NOT EXISTS (SELECT 1 FROM images d WHERE d.parent = i.id)
            ORDER BY i.name
            """).AsList();
    }

    /// <summary>Whether any image still refers to a blob (blobs are shared between images).</summary>
    public bool BlobInUse(string sha256)
    {
        using var c = db.Open();
        return c.ExecuteScalar<bool>(
            "SELECT EXISTS (SELECT 1 FROM images WHERE disk = @sha256 OR kernel = @sha256 OR initrd = @sha256)", new { sha256 });
    }

    public BlobCheckRow? LastCheck(string sha256)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<BlobCheckRow>(
            "SELECT sha256, device, inode, size, modified_ns, changed_ns, checked_at FROM blob_checks WHERE sha256 = @sha256", new { sha256 });
    }

    public void RecordCheck(BlobCheckRow check)
    {
        using var c = db.Open();
        c.Execute("""
            INSERT INTO blob_checks (sha256, device, inode, size, modified_ns, changed_ns, checked_at)
            VALUES (@Sha256, @Device, @Inode, @Size, @ModifiedNs, @ChangedNs, @CheckedAt)
            ON CONFLICT (sha256) DO UPDATE SET device = excluded.device, inode = excluded.inode, size = excluded.size,
                modified_ns = excluded.modified_ns, changed_ns = excluded.changed_ns, checked_at = excluded.checked_at
            """, check);
    }

    public void ForgetCheck(string sha256) => db.Freeing(() =>
    {
        using var c = db.Open();
        c.Execute("DELETE FROM blob_checks WHERE sha256 = @sha256", new { sha256 });
    });
}
