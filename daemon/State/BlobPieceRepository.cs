using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>
/// The blob_pieces table: each blob's piece list, computed once. A row describes content, not a
/// file, so a row outliving its blob is never wrong, only idle; a removed blob's row is forgotten.
/// </summary>
public sealed class BlobPieceRepository(Database db)
{
    public BlobPieceRow? Find(string sha256)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<BlobPieceRow>(
            "SELECT sha256, piece_size, size, hashes FROM blob_pieces WHERE sha256 = @sha256", new { sha256 });
    }

    /// <summary>Records a list; one computed with another piece size replaces the old one.</summary>
    public void Record(BlobPieceRow row)
    {
        using var c = db.Open();
        // The digests travel as hex and SQLite makes them a BLOB: Dapper.AOT 1.1.0 expands a byte[] parameter
        // as if it were a list for IN (...) (DapperLib/DapperAOT#226), which SQLite refuses.
        c.Execute("""
            INSERT INTO blob_pieces (sha256, piece_size, size, hashes) VALUES (@Sha256, @PieceSize, @Size, unhex(@Hashes))
            ON CONFLICT (sha256) DO UPDATE SET piece_size = excluded.piece_size, size = excluded.size, hashes = excluded.hashes
            """, new { row.Sha256, row.PieceSize, row.Size, Hashes = Convert.ToHexString(row.Hashes) });
    }

    public void Forget(string sha256) => db.Freeing(() =>
    {
        using var c = db.Open();
        c.Execute("DELETE FROM blob_pieces WHERE sha256 = @sha256", new { sha256 });
    });
}
