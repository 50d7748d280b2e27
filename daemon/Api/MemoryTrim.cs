using Workspaces.Native;

namespace Workspaces.Daemon.Api;

/// <summary>
/// A burst of large request bodies (refused or not) leaves the GC's large-object heap grown, and a
/// daemon that then goes quiet never collects it again: months of RSS held for one burst. Two seconds
/// after the last large request, one aggressive, compacting collection gives that memory back, and
/// so do SQLite's pooled connections (a page cache each) and the C heap's free pages. A second trim
/// a minute later is the collection at which the shared ArrayPool lets go of the buffers the burst
/// rented (it drops arrays unused for 60 s, and only when a full collection runs).
/// </summary>
public sealed partial class MemoryTrim : IDisposable
{
    /// <summary>Bodies from this size on count as large (the GC's large objects start at 85,000 bytes).</summary>
    public const long LargeBody = 256 << 10;

    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2), PoolAge = TimeSpan.FromSeconds(62);
    private readonly Timer _timer;
    private int _second; // 1 while the next trim is the follow-up a minute after a burst

    private readonly ILogger<MemoryTrim> _logger;

    public MemoryTrim(ILogger<MemoryTrim> logger)
    {
        _logger = logger;
        _timer = new Timer(_ => Trim());
    }

    private void Trim()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Libc.TrimNativeHeap();
        bool second = Interlocked.Exchange(ref _second, 0) == 1;
        if (!second)
        {
            _timer.Change(PoolAge, Timeout.InfiniteTimeSpan);
            Volatile.Write(ref _second, 1);
        }
        LogTrimmed(_logger, second ? "a minute after a burst of large requests" : "after a burst of large requests", Environment.WorkingSet >> 10);
    }

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Memory trimmed {When}: {ResidentKiB} KiB resident")]
    private static partial void LogTrimmed(ILogger logger, string when, long residentKiB);

    /// <summary>A request has ended; if its body was large (or chunked, of unknown size), the trim waits for two quiet seconds from now.</summary>
    public void RequestEnded(HttpRequest request)
    {
        if (request.ContentLength is >= LargeBody || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0))
        {
            Volatile.Write(ref _second, 0);
            _timer.Change(Quiet, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _timer.Dispose();
}
