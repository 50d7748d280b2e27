using System.Security.Cryptography;
using System.Text.Json;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Images;

/// <summary>
/// Piece lists of cached blobs: right digests for every piece (the last one short), computed once and
/// kept in SQLite, never made for a blob that does not hash to its address, forgotten with the blob.
/// Expected digests are computed here, over slices of the bytes, not by the code under test.
/// </summary>
public sealed class BlobPiecesTests
{
    private const int MiB = 1 << 20;

    [Fact]
    public async Task A_blob_of_ten_MiB_and_three_bytes_has_three_pieces_with_their_digests()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        byte[] bytes = RandomNumberGenerator.GetBytes(10 * MiB + 3);
        string sha = await CacheAsync(daemon, bytes);

        var list = await daemon.Get<BlobPieces>().GetAsync(sha, CancellationToken.None);

        Assert.Equal((sha, (long)bytes.Length, 4 * MiB, 3), (list.Sha256, list.Size, list.PieceSize, list.Count));
        Assert.Equal((0L, 4 * MiB), list.Range(0));
        Assert.Equal((4L * MiB, 4 * MiB), list.Range(1));
        Assert.Equal((8L * MiB, 2 * MiB + 3), list.Range(2));
        byte[][] expected = [SHA256.HashData(bytes.AsSpan(0, 4 * MiB)), SHA256.HashData(bytes.AsSpan(4 * MiB, 4 * MiB)), SHA256.HashData(bytes.AsSpan(8 * MiB))];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i], list.Piece(i).ToArray());
            Assert.True(list.Matches(i, bytes.AsSpan((int)list.Range(i).Offset, list.Range(i).Length)));
        }
        Assert.False(list.Matches(2, bytes.AsSpan(8 * MiB, 2 * MiB + 2))); // one byte short
        Assert.False(list.Matches(1, bytes.AsSpan(0, 4 * MiB)));           // another piece's bytes
    }

    [Fact]
    public async Task A_list_is_kept_and_answered_without_reading_the_blob_again()
    {
        using var machine = new TestMachine();
        byte[] bytes = RandomNumberGenerator.GetBytes(5 * MiB);
        string sha;
        PieceList first;
        await using (var daemon = InProcessDaemon.Start(machine))
        {
            sha = await CacheAsync(daemon, bytes);
            first = await daemon.Get<BlobPieces>().GetAsync(sha, CancellationToken.None);

            var row = daemon.Get<BlobPieceRepository>().Find(sha);
            Assert.NotNull(row);
            Assert.Equal((4L * MiB, 5L * MiB), (row.PieceSize, row.Size));
            Assert.Equal([.. SHA256.HashData(bytes.AsSpan(0, 4 * MiB)), .. SHA256.HashData(bytes.AsSpan(4 * MiB))], row.Hashes);

            // With the file gone, only the kept list can answer.
            File.Delete(daemon.Images.BlobPath(sha));
            var again = await daemon.Get<BlobPieces>().GetAsync(sha, CancellationToken.None);
            Assert.Equal(first.Hashes.ToArray(), again.Hashes.ToArray());
        }
        // A later daemon on the same state answers the same.
        await using var restarted = InProcessDaemon.Start(machine);
        Assert.Equal(first.ToInfo().Pieces, (await restarted.Get<BlobPieces>().GetAsync(sha, CancellationToken.None)).ToInfo().Pieces);
    }

    [Fact]
    public async Task Callers_at_once_all_get_the_one_list()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        byte[] bytes = RandomNumberGenerator.GetBytes(9 * MiB);
        string sha = await CacheAsync(daemon, bytes);
        var pieces = daemon.Get<BlobPieces>();

        var lists = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => pieces.GetAsync(sha, CancellationToken.None))));

        Assert.All(lists, l => Assert.Equal(lists[0].ToInfo().Pieces, l.ToInfo().Pieces));
        Assert.Equal(3, lists[0].Count);
    }

    [Fact]
    public async Task A_blob_that_no_longer_hashes_to_its_address_gets_no_list()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        byte[] bytes = RandomNumberGenerator.GetBytes(MiB);
        string sha = await CacheAsync(daemon, bytes);
        string path = daemon.Images.BlobPath(sha);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        bytes[12345] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);

        var damaged = await Assert.ThrowsAsync<WorkspacesException>(() => daemon.Get<BlobPieces>().GetAsync(sha, CancellationToken.None));
        Assert.Equal(409, damaged.Status);
        Assert.Contains("is damaged", damaged.Message);
        Assert.Null(daemon.Get<BlobPieceRepository>().Find(sha));

        var missing = await Assert.ThrowsAsync<WorkspacesException>(() => daemon.Get<BlobPieces>().GetAsync(new string('0', 64), CancellationToken.None));
        Assert.Equal(404, missing.Status);
        var bad = await Assert.ThrowsAsync<WorkspacesException>(() => daemon.Get<BlobPieces>().GetAsync("../workspaces.db", CancellationToken.None));
        Assert.Equal(400, bad.Status);
    }

    [Fact]
    public async Task An_empty_blob_has_no_pieces_and_is_pulled_whole()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        string sha = await CacheAsync(daemon, []);

        var list = await daemon.Get<BlobPieces>().GetAsync(sha, CancellationToken.None);
        Assert.Equal((0L, 0), (list.Size, list.Count));
        Assert.Equal(0, (await daemon.Get<BlobPieces>().GetAsync(sha, CancellationToken.None)).Count); // from SQLite this time

        using var partial = new PartialBlob(daemon.Get<ImageStore>(), list);
        Assert.Empty(await partial.ResumeAsync(CancellationToken.None));
        Assert.Equal((sha, 0L), ((await partial.CompleteAsync(CancellationToken.None)) is var staged ? (staged.Sha256, staged.Size) : default));
    }

    [Fact]
    public async Task Removing_the_image_forgets_its_blobs_lists()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        var image = await daemon.ImportBootSetAsync();
        await daemon.Get<BlobPieces>().GetAsync(image.Kernel!, CancellationToken.None);
        Assert.NotNull(daemon.Get<BlobPieceRepository>().Find(image.Kernel!));

        daemon.Images.Delete("tiny");

        Assert.Null(daemon.Get<BlobPieceRepository>().Find(image.Kernel!));
    }

    [Fact]
    public void The_wire_form_round_trips_and_a_malformed_one_is_refused()
    {
        var digests = new[] { SHA256.HashData("a"u8), SHA256.HashData("b"u8) };
        var list = new PieceList(new string('a', 64), 5, 4, digests.SelectMany(d => d).ToArray());

        string json = JsonSerializer.Serialize(list.ToInfo(), WorkspacesJson.Default.PieceListInfo);

        Assert.Equal($"{{\"sha256\":\"{new string('a', 64)}\",\"size\":5,\"pieceSize\":4,\"pieces\":[\"{Convert.ToHexStringLower(digests[0])}\",\"{Convert.ToHexStringLower(digests[1])}\"]}}", json);
        var back = PieceList.FromInfo(JsonSerializer.Deserialize(json, WorkspacesJson.Default.PieceListInfo)!);
        Assert.Equal(list.Hashes.ToArray(), back.Hashes.ToArray());
        Assert.Equal((4L, 1), back.Range(1));
        Assert.Throws<InvalidDataException>(() => PieceList.FromInfo(list.ToInfo() with { Size = 9 }));           // 3 pieces, 2 digests
        Assert.Throws<InvalidDataException>(() => PieceList.FromInfo(list.ToInfo() with { PieceSize = 0 }));
        Assert.Throws<InvalidDataException>(() => PieceList.FromInfo(list.ToInfo() with { Pieces = ["zz", "yy"] }));
        Assert.Throws<InvalidDataException>(() => PieceList.FromInfo(list.ToInfo() with { Sha256 = "../x" }));
    }

    /// <summary>Puts bytes in the cache under their address, as an import would.</summary>
    internal static async Task<string> CacheAsync(InProcessDaemon daemon, byte[] bytes)
    {
        var store = daemon.Get<ImageStore>();
        var staged = await store.StageAsync(new MemoryStream(bytes), null, CancellationToken.None);
        Assert.True(store.Commit(staged));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), staged.Sha256);
        return staged.Sha256;
    }
}
