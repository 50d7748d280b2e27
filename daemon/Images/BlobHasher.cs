using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Workspaces.Daemon.Images;

/// <summary>
/// SHA-256 of a whole file with the next chunk read while the current one is hashed, so hashing
/// a cached file costs the hash alone (on a second core the read is free), as `openssl dgst` does.
/// </summary>
public static class BlobHasher
{
    private const int Chunk = 8 << 20;

    public static async Task<(string Sha256, long Length)> HashAsync(SafeFileHandle file, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] current = new byte[Chunk], next = new byte[Chunk];
        long offset = 0;
        int n = await RandomAccess.ReadAsync(file, current, offset, ct);
        while (n > 0)
        {
            var read = RandomAccess.ReadAsync(file, next, offset + n, ct).AsTask();
            hash.AppendData(current, 0, n);
            offset += n;
            n = await read;
            (current, next) = (next, current);
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), offset);
    }

    public static async Task<(string Sha256, long Length)> HashAsync(string path, CancellationToken ct)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        return await HashAsync(file, ct);
    }
}
