using System.Security.Cryptography;
using Workspaces.Client;

namespace Workspaces.Daemon.Images;

/// <summary>
/// A blob cut into fixed-size pieces (the last one short), with the SHA-256 each piece must hash to,
/// so a receiver can check every piece as it lands instead of only the whole blob at the end. Hashes
/// holds the digests concatenated in order, 32 bytes each. An empty blob has no pieces.
/// </summary>
public sealed record PieceList(string Sha256, long Size, int PieceSize, ReadOnlyMemory<byte> Hashes)
{
    public const int DigestSize = SHA256.HashSizeInBytes;

    public int Count => Hashes.Length / DigestSize;

    /// <summary>The digest piece <paramref name="index"/> must have.</summary>
    public ReadOnlySpan<byte> Piece(int index) => Hashes.Span.Slice(checked(index * DigestSize), DigestSize);

    /// <summary>Where piece <paramref name="index"/> sits in the blob.</summary>
    public (long Offset, int Length) Range(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        long offset = (long)index * PieceSize;
        return (offset, (int)Math.Min(PieceSize, Size - offset));
    }

    /// <summary>Whether these bytes are piece <paramref name="index"/>: its length and its digest.</summary>
    public bool Matches(int index, ReadOnlySpan<byte> data)
    {
        if (data.Length != Range(index).Length) return false;
        Span<byte> digest = stackalloc byte[DigestSize];
        SHA256.HashData(data, digest);
        return digest.SequenceEqual(Piece(index));
    }

    /// <summary>The largest piece a peer may ask us to hold in memory at once.</summary>
    public const int MaxPieceSize = 64 << 20;

    public static int CountFor(long size, int pieceSize) => checked((int)((size + pieceSize - 1) / pieceSize));

    public PieceListInfo ToInfo() => new(Sha256, Size, PieceSize,
        Enumerable.Range(0, Count).Select(i => Convert.ToHexStringLower(Piece(i))).ToArray());

    /// <summary>
    /// A list a peer sent, checked for shape only (address, sizes, one 64-digit digest per piece):
    /// whether it describes the blob is known once the assembled blob hashes to its address.
    /// Throws InvalidDataException naming what is wrong.
    /// </summary>
    public static PieceList FromInfo(PieceListInfo info)
    {
        if (!BlobAddress.IsValid(info.Sha256)) throw new InvalidDataException("the piece list does not name a blob by its SHA-256");
        if (info.Size < 0 || info.PieceSize is <= 0 or > MaxPieceSize) throw new InvalidDataException($"the piece list of {info.Sha256[..12]} has size {info.Size} and piece size {info.PieceSize}");
        int count = CountFor(info.Size, info.PieceSize);
        if (info.Pieces.Length != count)
            throw new InvalidDataException($"the piece list of {info.Sha256[..12]} has {info.Pieces.Length} pieces where {count} cover {info.Size} bytes");
        var hashes = new byte[count * DigestSize];
        for (int i = 0; i < count; i++)
        {
            if (!BlobAddress.IsValid(info.Pieces[i])) throw new InvalidDataException($"piece {i} of {info.Sha256[..12]} has no SHA-256 digest");
            Convert.FromHexString(info.Pieces[i], hashes.AsSpan(i * DigestSize, DigestSize), out _, out _);
        }
        return new PieceList(info.Sha256, info.Size, info.PieceSize, hashes);
    }
}
