namespace Workspaces.Daemon;

/// <summary>
/// Faults a test can switch on in a daemon's environment, beside CrashPoints: read once at start, so
/// unset each costs one comparison. WORKSPACES_FAULT_CORRUPT_PIECES=1 makes this daemon a peer that
/// lies: every range response of GET /v1/peer/blobs/{sha256} has one byte flipped, so a test can prove
/// that a pull catches a bad piece, drops the peer and takes the piece from another.
/// </summary>
public static class Faults
{
    public static readonly bool CorruptPieces = Environment.GetEnvironmentVariable("WORKSPACES_FAULT_CORRUPT_PIECES") == "1";

    /// <summary>A response body whose first byte written is flipped.</summary>
    public sealed class CorruptingStream(Stream inner) : Stream
    {
        private bool _flipped;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            if (!_flipped && buffer.Length > 0)
            {
                var copy = buffer.ToArray();
                copy[0] ^= 0xFF;
                _flipped = true;
                buffer = copy;
            }
            await inner.WriteAsync(buffer, ct);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
