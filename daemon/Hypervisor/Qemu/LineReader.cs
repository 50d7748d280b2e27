using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>Reads newline-terminated UTF-8 lines from a stream over a pooled pipe (QMP frames one JSON object per line).</summary>
internal sealed class LineReader(Stream stream)
{
    private readonly PipeReader _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));

    /// <summary>The next line without its terminator, or null at end of stream.</summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var result = await _pipe.ReadAsync(ct);
            var buffer = result.Buffer;
            var newline = buffer.PositionOf((byte)'\n');
            if (newline is { } end)
            {
                string line = Encoding.UTF8.GetString(buffer.Slice(0, end)).TrimEnd('\r');
                _pipe.AdvanceTo(buffer.GetPosition(1, end));
                return line;
            }
            _pipe.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) return null;
        }
    }
}
