using System.Security.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Images;

/// <summary>
/// A blob assembled from pieces: it resumes from whatever right pieces are on disk (a wrong one is
/// fetched again), it is complete only when the whole hashes to the address, and then the cache takes it.
/// </summary>
public sealed class PartialBlobTests
{
    private const int MiB = 1 << 20;
    private static readonly byte[] Bytes = RandomNumberGenerator.GetBytes(10 * MiB + 3);

    /// <summary>The list a peer would send, made here from slices of the bytes.</summary>
    private static PieceList List() => new(Convert.ToHexStringLower(SHA256.HashData(Bytes)), Bytes.Length, BlobPieces.PieceSize,
        (byte[])[.. SHA256.HashData(Bytes.AsSpan(0, 4 * MiB)), .. SHA256.HashData(Bytes.AsSpan(4 * MiB, 4 * MiB)), .. SHA256.HashData(Bytes.AsSpan(8 * MiB))]);

    private static ReadOnlyMemory<byte> Piece(int index) => Bytes.AsMemory(index * 4 * MiB, Math.Min(4 * MiB, Bytes.Length - index * 4 * MiB));

    [Fact]
    public async Task A_pull_resumes_from_the_pieces_on_disk_and_completes_into_the_cache()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        var store = daemon.Get<ImageStore>();
        var list = List();

        using (var fresh = new PartialBlob(store, list))
        {
            Assert.Equal(new[] { false, false, false }, await fresh.ResumeAsync(CancellationToken.None));
            Assert.Equal(Bytes.Length, new FileInfo(fresh.Path).Length); // sized for the blob from the start
            await fresh.WritePieceAsync(2, Piece(2));
            await fresh.WritePieceAsync(0, Piece(0));
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Path.GetDirectoryName(store.PartialPath(list.Sha256))!));

        using var resumed = new PartialBlob(store, list);
        Assert.Equal(new[] { true, false, true }, await resumed.ResumeAsync(CancellationToken.None));
        await resumed.WritePieceAsync(1, Piece(1));
        var staged = await resumed.CompleteAsync(CancellationToken.None);

        Assert.Equal((store.PartialPath(list.Sha256), list.Sha256, (long)Bytes.Length), (staged.Path, staged.Sha256, staged.Size));
        Assert.True(store.Commit(staged));
        Assert.Equal(Bytes, await File.ReadAllBytesAsync(store.BlobPath(list.Sha256)));
        Assert.False(File.Exists(staged.Path));
    }

    [Fact]
    public async Task A_damaged_piece_on_disk_is_not_done()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        var store = daemon.Get<ImageStore>();
        using (var partial = new PartialBlob(store, List()))
            for (int i = 0; i < 3; i++) await partial.WritePieceAsync(i, Piece(i));
        using (var file = File.OpenHandle(store.PartialPath(List().Sha256), FileMode.Open, FileAccess.ReadWrite))
            RandomAccess.Write(file, [(byte)(Bytes[5 * MiB] ^ 0x80)], 5 * MiB);

        using var resumed = new PartialBlob(store, List());
        Assert.Equal(new[] { true, false, true }, await resumed.ResumeAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_blob_that_does_not_hash_to_its_address_is_refused_and_its_part_deleted()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        var store = daemon.Get<ImageStore>();
        using var partial = new PartialBlob(store, List());
        await partial.WritePieceAsync(0, Piece(0));
        await partial.WritePieceAsync(1, Piece(1));
        byte[] wrong = Piece(2).ToArray();
        wrong[^1] ^= 1;
        await partial.WritePieceAsync(2, wrong);

        var refused = await Assert.ThrowsAsync<WorkspacesException>(() => partial.CompleteAsync(CancellationToken.None));

        Assert.Equal(502, refused.Status);
        Assert.False(File.Exists(partial.Path));
        Assert.False(File.Exists(store.BlobPath(List().Sha256)));
    }

    [Fact]
    public async Task One_pull_at_a_time_holds_a_part_and_a_discarded_part_is_gone()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        var store = daemon.Get<ImageStore>();
        var first = new PartialBlob(store, List());

        var busy = Assert.Throws<WorkspacesException>(() => new PartialBlob(store, List()));
        Assert.Equal(409, busy.Status);
        Assert.Throws<ArgumentException>(() => first.WritePieceAsync(2, Piece(1)).GetAwaiter().GetResult()); // a piece of the wrong length

        first.Discard();
        Assert.False(File.Exists(first.Path));
        Assert.Throws<ObjectDisposedException>(() => first.WritePieceAsync(0, Piece(0)).GetAwaiter().GetResult());
    }
}
