using Microsoft.Win32.SafeHandles;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Images;

/// <summary>
/// A blob being assembled from pieces fetched from peers, in any order, at
/// {state}/images/.pulls/SHA256.part: the file is the blob's size from the start and each piece is
/// written at its offset. There is no record of which pieces landed: the piece list is the truth, so
/// a pull that died (with the daemon, or the host) resumes by hashing what is on disk. Only one
/// PartialBlob holds a given part at a time (an exclusive lock on the file).
/// </summary>
public sealed class PartialBlob : IDisposable
{
    private const int EWouldBlock = 11; // what .NET reports (as HResult) when FileShare.None's lock is held

    private readonly PieceList _pieces;
    private readonly bool _created;
    private SafeFileHandle? _file;

    /// <summary>Opens the blob's part file, or makes it (its space allocated now, so a full disk shows before any piece is fetched).</summary>
    public PartialBlob(ImageStore store, PieceList pieces)
    {
        _pieces = pieces;
        Path = store.PartialPath(BlobAddress.Check(pieces.Sha256));
        try
        {
            _file = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (FileNotFoundException)
        {
            _file = File.OpenHandle(Path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.None, preallocationSize: pieces.Size);
            _created = true;
        }
        catch (IOException e) when (e.HResult == EWouldBlock)
        {
            // FileShare.None is an exclusive flock: another pull holds this part.
            throw WorkspacesException.Conflict($"blob {pieces.Sha256[..12]} is being pulled already");
        }
        if (RandomAccess.GetLength(_file) != pieces.Size) RandomAccess.SetLength(_file, pieces.Size);
    }

    public string Path { get; }

    /// <summary>Which pieces are on disk already and right. A piece never written reads as zeros, so a piece that should be zeros counts as done, as it is.</summary>
    public async Task<bool[]> ResumeAsync(CancellationToken ct)
    {
        var done = new bool[_pieces.Count];
        if (_created) return done; // nothing was written yet: no need to hash zeros
        await PieceReader.ReadAsync(Open(), _pieces.PieceSize, (i, data) => done[i] = i < done.Length && _pieces.Matches(i, data.Span), ct);
        return done;
    }

    /// <summary>Writes a piece the caller has checked (PieceList.Matches). Pieces may be written concurrently.</summary>
    public async Task WritePieceAsync(int index, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        var (offset, length) = _pieces.Range(index);
        if (data.Length != length) throw new ArgumentException($"piece {index} is {length} bytes, not {data.Length}", nameof(data));
        await RandomAccess.WriteAsync(Open(), data, offset, ct);
    }

    /// <summary>
    /// Makes the assembled blob durable and proves it hashes to its address; then it is a staged blob
    /// for ImageService.Register to move into the cache. A blob that does not hash right is deleted
    /// (its pieces matched a list that did not describe it) and refused.
    /// </summary>
    public async Task<StagedBlob> CompleteAsync(CancellationToken ct)
    {
        var file = Open();
        RandomAccess.FlushToDisk(file);
        var (actual, size) = await BlobHasher.HashAsync(file, ct);
        // Closed before it is handed on: the lock would keep readers off the committed blob.
        Close();
        if (actual != _pieces.Sha256 || size != _pieces.Size)
        {
            File.Delete(Path);
            throw new WorkspacesException(502, "Bad blob from peers",
                $"blob {_pieces.Sha256[..12]} was assembled from pieces that each matched their list, yet it hashes to {actual[..12]}…: " +
                "the piece list does not describe the blob; the partial file is deleted");
        }
        return new StagedBlob(Path, actual, size);
    }

    /// <summary>Gives up the pull: the part file and its pieces are deleted.</summary>
    public void Discard()
    {
        Close();
        File.Delete(Path);
    }

    /// <summary>Lets go of the part file and keeps it, for a later pull to resume.</summary>
    public void Dispose() => Close();

    private SafeFileHandle Open() => _file ?? throw new ObjectDisposedException(nameof(PartialBlob), "the partial blob is completed, discarded or closed");

    private void Close()
    {
        _file?.Dispose();
        _file = null;
    }
}
