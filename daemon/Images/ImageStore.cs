using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Workspaces.Native;

namespace Workspaces.Daemon.Images;

/// <summary>
/// The content-addressed blob cache, sole owner of {state}/images: each blob is stored read-only
/// under its SHA-256; uploads land in .staging and are renamed into place only once complete and hashed.
/// </summary>
public sealed class ImageStore
{
    public ImageStore(string stateDir)
    {
        Root = Path.Combine(stateDir, "images");
        Staging = Path.Combine(Root, ".staging");
        // Guests (their own uids) open blobs by exact path: the cache may be passed through, not listed.
        Directory.CreateDirectory(Root, (UnixFileMode)Convert.ToInt32("711", 8));
        Directory.CreateDirectory(Staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Anything left in staging is from an import that died with the daemon.
        foreach (var stale in Directory.EnumerateFiles(Staging)) File.Delete(stale);
        // Pulls from peers are kept across restarts, unlike staging: the pieces already there resume them.
        Pulls = Path.Combine(Root, ".pulls");
        Directory.CreateDirectory(Pulls, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        RamCache = Path.Combine(Root, ".ram");
        Directory.CreateDirectory(RamCache, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var stale in Directory.EnumerateFiles(RamCache, "*.tmp")) File.Delete(stale);
    }

    public string Root { get; }
    private string Staging { get; }
    private string Pulls { get; }
    private string RamCache { get; }

    public string BlobPath(string sha256) => Path.Combine(Root, sha256);

    /// <summary>Where a blob being pulled from peers is assembled (PartialBlob), beside the cache for a rename into it.</summary>
    public string PartialPath(string sha256) => Path.Combine(Pulls, sha256 + ".part");

    /// <summary>Streams into a staging file, hashing in the same pass. The caller deletes the staged file if it does not commit it.</summary>
    public async Task<StagedBlob> StageAsync(Stream source, Action<long>? progress, CancellationToken ct)
    {
        string path = Path.Combine(Staging, Guid.NewGuid().ToString("N"));
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 20];
                int n;
                while ((n = await source.ReadAsync(buffer, ct)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), ct);
                    size += n;
                    progress?.Invoke(n);
                }
                file.Flush(flushToDisk: true);
            }
            return new StagedBlob(path, Convert.ToHexStringLower(hash.GetHashAndReset()), size);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>
    /// Copies a local file into staging and hashes it in the same pass, as fast as the slower of the
    /// two: while one chunk is hashed and written, the next is read. Writes bypass the page cache
    /// (O_DIRECT) where the filesystem allows, else writeback starts as each chunk lands, so the
    /// final fsync is short either way. Used by imports of files on this host.
    /// </summary>
    public async Task<StagedBlob> StageCopyAsync(SafeFileHandle source, CancellationToken ct)
    {
        const int chunk = 8 << 20;
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        string path = Path.Combine(Staging, Guid.NewGuid().ToString("N"));
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var direct = Libc.CreateDirect(path, mode);
            using var target = direct ?? File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            Memory<byte> current = Libc.AllocateDirectBuffer(chunk), next = Libc.AllocateDirectBuffer(chunk);
            long offset = 0;
            int n = await PieceReader.ReadFullAsync(source, current, offset, ct);
            while (n > 0)
            {
                var data = current[..n];
                // A direct write is whole blocks: the last one is padded with zeros, then the file cut back.
                int length = direct is null ? n : (n + Libc.DirectAlignment - 1) / Libc.DirectAlignment * Libc.DirectAlignment;
                current.Span[n..length].Clear();
                var block = current[..length];
                long at = offset;
                var hashed = Task.Run(() => hash.AppendData(data.Span), ct);
                var written = Task.Run(async () =>
                {
                    await RandomAccess.WriteAsync(target, block, at, ct);
                    if (direct is null) Libc.StartWriteback(target, at, block.Length);
                }, ct);
                var read = PieceReader.ReadFullAsync(source, next, offset + n, ct); // whole chunks: a short read would misalign direct writes
                await Task.WhenAll(hashed, written, read);
                offset += n;
                n = read.Result;
                (current, next) = (next, current);
            }
            if (RandomAccess.GetLength(target) != offset) RandomAccess.SetLength(target, offset);
            RandomAccess.FlushToDisk(target);
            return new StagedBlob(path, Convert.ToHexStringLower(hash.GetHashAndReset()), offset);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>A fresh path in staging for a tool (qemu-img) to write a blob to; the caller stages or deletes it.</summary>
    public string NewStagingPath() => Path.Combine(Staging, Guid.NewGuid().ToString("N"));

    /// <summary>Hashes a file a tool wrote into staging, making it a staged blob.</summary>
    public async Task<StagedBlob> HashStagedAsync(string path, CancellationToken ct)
    {
        try
        {
            return await StageInPlaceAsync(path, ct);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>
    /// A file elsewhere on this filesystem (a workspace's overlay) as a staged blob, without copying
    /// it: hashed and made durable where it is; Commit then moves it into the cache.
    /// </summary>
    public async Task<StagedBlob> StageInPlaceAsync(string path, CancellationToken ct)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var flushed = Task.Run(() => RandomAccess.FlushToDisk(file), ct); // usually clean already (QEMU flushes at exit)
        var (sha, length) = await BlobHasher.HashAsync(file, ct);
        await flushed;
        return new StagedBlob(path, sha, length);
    }

    /// <summary>Moves a staged blob to its address. Returns false, touching nothing, if the blob is already cached.</summary>
    public bool Commit(StagedBlob blob)
    {
        string final = BlobPath(blob.Sha256);
        if (File.Exists(final)) return false;
        File.SetUnixFileMode(blob.Path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(blob.Path, final);
        return true;
    }

    /// <summary>
    /// Gives a staged file its address as a second name (a hard link), leaving it where it is too.
    /// Returns false, touching nothing, if the blob is already cached.
    /// </summary>
    public bool Link(StagedBlob blob)
    {
        if (File.Exists(BlobPath(blob.Sha256))) return false;
        File.SetUnixFileMode(blob.Path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        // The overlay belonged to its guest's uid; a blob every guest may read belongs to no guest.
        if (Environment.IsPrivilegedProcess) Libc.ChangeOwner(blob.Path, 0, 0);
        return Libc.HardLink(blob.Path, BlobPath(blob.Sha256));
    }

    /// <summary>Undoes a Commit: the blob goes back to where it was staged.</summary>
    public void Uncommit(StagedBlob blob) => File.Move(BlobPath(blob.Sha256), blob.Path);

    /// <summary>A template's RAM state blob kept decompressed too (TemplateRam): derived from the blob, gone with it.</summary>
    public string RamCachePath(string sha256) => Path.Combine(RamCache, sha256);

    public void DeleteBlob(string sha256)
    {
        File.Delete(BlobPath(sha256));
        File.Delete(RamCachePath(sha256));
    }
}
