using Workspaces.Native;

namespace Workspaces.Daemon.Api;

/// <summary>
/// A burst of large request bodies (refused or not) leaves the GC's large-object heap grown, and a
/// daemon that then goes quiet never collects it again: months of RSS held for one burst. Two seconds
/// after the last large request, one aggressive, compacting collection gives that memory back, and
/// so do SQLite's pooled connections (a page cache each) and the C heap's free pages.
/// </summary>
public sealed class MemoryTrim : IDisposable
{
    /// <summary>Bodies from this size on count as large (the GC's large objects start at 85,000 bytes).</summary>
    public const long LargeBody = 256 << 10;

    private readonly Timer _timer = new(_ => Trim());

    private static void Trim()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Libc.TrimNativeHeap();
    }

    /// <summary>A request has ended; if its body was large, the trim waits for two quiet seconds from now.</summary>
    public void RequestEnded(HttpRequest request)
    {
        if (request.ContentLength is >= LargeBody) _timer.Change(TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
    }

    public void Dispose() => _timer.Dispose();
}
