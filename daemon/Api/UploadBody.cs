using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Api;

/// <summary>
/// The request body of an upload, read through this so that its failures are told apart by type
/// from those of the disk it is written to: the client's connection failing mid-body, or the body
/// ending before the form or archive is whole, is a 400 "truncated", never a 500 or a 507.
/// </summary>
public sealed class UploadBody(Stream body) : Stream
{
    /// <summary>The body has been read to its end: an "unexpected end" from a parser above is the client's.</summary>
    public bool Ended { get; private set; }

    public static WorkspacesException Truncated(Exception why) =>
        new(400, "Bad request", $"the upload ended early (truncated): {why.Message}");

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        int n;
        try
        {
            n = await body.ReadAsync(buffer, ct);
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException { StatusCode: 400 })
        {
            throw Truncated(e);
        }
        if (n == 0 && buffer.Length > 0) Ended = true;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    /// <summary>Runs a parse of the body; a parser's complaint once the body has ended means the client sent too little.</summary>
    public async Task<T> ParseAsync<T>(Func<Task<T>> parse)
    {
        try
        {
            return await parse();
        }
        catch (IOException e) when (Ended && e.HResult != Enospc)
        {
            throw Truncated(e);
        }
    }

    private const int Enospc = 28;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("uploads are read asynchronously");
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
