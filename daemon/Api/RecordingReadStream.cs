namespace Workspaces.Daemon.Api;

/// <summary>
/// A request body read through as it is, keeping a copy of the first bytes the endpoint read, for the audit
/// record. Not EnableBuffering: that makes the body seekable, and a seekable stream's length is taken as
/// what was buffered so far (nothing), so the peer proxy forwarded a chunked JSON body as Content-Length: 0.
/// This stream cannot seek: everything downstream sees the body exactly as before.
/// </summary>
public sealed class RecordingReadStream(Stream inner, int keep) : Stream
{
    private readonly MemoryStream _copy = new();

    /// <summary>What was read, when all of it fit in what is kept; else null (then no body is recorded).</summary>
    public byte[]? Copy => _overflowed ? null : _copy.ToArray();

    private bool _overflowed;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Keep(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken);
        return Keep(buffer.Span[..n]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Keep(ReadOnlySpan<byte> read)
    {
        if (_copy.Length + read.Length > keep) _overflowed = true;
        else _copy.Write(read);
        return read.Length;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
