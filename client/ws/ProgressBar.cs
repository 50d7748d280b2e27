using System.Diagnostics;

namespace Workspaces.Cli;

/// <summary>A one-line byte progress bar on stderr ("[#####     ]  48%  9.6/20.0 MiB"), only on a terminal, erased when done.</summary>
public sealed class ProgressBar(string label) : IDisposable
{
    private const int Width = 30;
    private readonly Stopwatch _sinceDrawn = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private long _done;

    /// <summary>Bytes so far of total (total below 0: unknown). Redraws at most ten times a second.</summary>
    public void Report(long done, long total)
    {
        if (!Spinner.Wanted) return;
        lock (_gate)
        {
            _done = done;
            if (_sinceDrawn.ElapsedMilliseconds < 100 && done != total) return;
            _sinceDrawn.Restart();
            string text = total > 0
                ? $"[{new string('#', (int)(Width * Math.Min(done, total) / total)).PadRight(Width)}] {100 * Math.Min(done, total) / total,3}%  {Mib(done)}/{Mib(total)} MiB"
                : $"{Mib(done)} MiB";
            Console.Error.Write($"\r{label} {text}");
        }
    }

    /// <summary>Adds to the bytes so far (progress reported in increments).</summary>
    public void Add(long n, long total)
    {
        long done;
        lock (_gate) done = _done + n;
        Report(done, total);
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.0");

    public void Dispose()
    {
        if (Spinner.Wanted) Console.Error.Write("\r\u001b[2K");
    }
}
