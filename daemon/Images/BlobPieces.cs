using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Images;

/// <summary>
/// The piece lists of cached blobs, as peers fetch them: computed once per blob in one pass that also
/// proves the blob still hashes to its address (a damaged blob is never described, so never served
/// as sound), then kept in SQLite. Blobs are immutable, so a list is never recomputed.
/// </summary>
public sealed class BlobPieces(ImageStore store, BlobPieceRepository rows, ImageRepository images)
{
    /// <summary>4 MiB: the piece size of Uber's Kraken, small enough to spread over peers, large enough to keep requests few.</summary>
    public const int PieceSize = 4 << 20;

    // Peers asking for the same new blob at once share one pass over it; an entry lives while its pass runs.
    private readonly ConcurrentDictionary<string, Lazy<Task<PieceList>>> _computing = new();

    /// <summary>
    /// The blob's piece list. 404 when the blob is not in the cache (and never was described), 409 when
    /// its bytes no longer match its address. A list once made is answered from SQLite even if the
    /// blob has gone since: whoever serves the blob checks that it is there.
    /// </summary>
    public async Task<PieceList> GetAsync(string sha256, CancellationToken ct)
    {
        BlobAddress.Check(sha256);
        if (Cached(sha256) is { } known) return known;
        Lazy<Task<PieceList>>? fresh = null;
        fresh = new Lazy<Task<PieceList>>(() => ComputeOnceAsync(sha256, fresh!));
        // The pass itself is not cancelled with one caller: others may be waiting on it, and its result is kept.
        return await _computing.GetOrAdd(sha256, fresh).Value.WaitAsync(ct);
    }

    private PieceList? Cached(string sha256) =>
        rows.Find(sha256) is { PieceSize: PieceSize } row ? new PieceList(row.Sha256, row.Size, PieceSize, row.Hashes) : null;

    private async Task<PieceList> ComputeOnceAsync(string sha256, Lazy<Task<PieceList>> self)
    {
        try
        {
            // A pass that finished between the caller's look in SQLite and its entry here has recorded the list.
            if (Cached(sha256) is { } known) return known;
            var list = await ComputeAsync(sha256);
            rows.Record(new BlobPieceRow(list.Sha256, list.PieceSize, list.Size, list.Hashes.ToArray()));
            return list;
        }
        finally
        {
            _computing.TryRemove(KeyValuePair.Create(sha256, self));
        }
    }

    private async Task<PieceList> ComputeAsync(string sha256)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(store.BlobPath(sha256), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw WorkspacesException.NotFound($"blob {sha256[..12]} is not in the cache");
        }
        using (file)
        {
            using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var hashes = new ArrayBufferWriter<byte>();
            long size = await PieceReader.ReadAsync(file, PieceSize, (_, piece) =>
            {
                whole.AppendData(piece.Span);
                SHA256.HashData(piece.Span, hashes.GetSpan(PieceList.DigestSize));
                hashes.Advance(PieceList.DigestSize);
            }, CancellationToken.None);
            string actual = Convert.ToHexStringLower(whole.GetHashAndReset());
            if (actual != sha256)
            {
                images.ForgetCheck(sha256); // the next launch of an image holding it re-hashes and refuses it
                throw WorkspacesException.Conflict(
                    $"blob {sha256[..12]} is damaged: it should hash to {sha256[..12]}… but hashes to {actual[..12]}… (changed on disk); " +
                    "remove the image that holds it and import it again");
            }
            return new PieceList(sha256, size, PieceSize, hashes.WrittenMemory.ToArray());
        }
    }
}
