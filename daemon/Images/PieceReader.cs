using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Workspaces.Daemon.Images;

/// <summary>
/// Reads a file in whole pieces, the next piece read while the current one is handled (BlobHasher's
/// read-ahead), so a pass over a cached file costs the handling alone.
/// </summary>
public static class PieceReader
{
    /// <summary>Hands each piece (index, bytes; only the last may be short) to <paramref name="piece"/>, in order; returns the file's length.</summary>
    public static async Task<long> ReadAsync(SafeFileHandle file, int pieceSize, Action<int, ReadOnlyMemory<byte>> piece, CancellationToken ct)
    {
        byte[] current = ArrayPool<byte>.Shared.Rent(pieceSize), next = ArrayPool<byte>.Shared.Rent(pieceSize);
        try
        {
            long offset = 0;
            int index = 0;
            int n = await ReadFullAsync(file, current.AsMemory(0, pieceSize), offset, ct);
            while (n > 0)
            {
                var read = ReadFullAsync(file, next.AsMemory(0, pieceSize), offset + n, ct);
                try
                {
                    piece(index++, current.AsMemory(0, n));
                }
                catch
                {
                    // The read in flight fills a pooled buffer: it must be over before the buffer goes back.
                    await read.ContinueWith(static _ => { }, TaskScheduler.Default);
                    throw;
                }
                offset += n;
                n = await read;
                (current, next) = (next, current);
            }
            return offset;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }
    }

    /// <summary>Fills the buffer unless the file ends first: a short read mid-file would shift every later piece (or misalign a direct write).</summary>
    internal static async Task<int> ReadFullAsync(SafeFileHandle file, Memory<byte> buffer, long offset, CancellationToken ct)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await RandomAccess.ReadAsync(file, buffer[total..], offset + total, ct);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
