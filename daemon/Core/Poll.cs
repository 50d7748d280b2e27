using System.Diagnostics;

namespace Workspaces.Daemon.Core;

/// <summary>
/// Waiting for something another process or the kernel makes true and announces nowhere (a process
/// gone, a pid moved into a cgroup, a file appearing or growing): the one polling loop of the daemon.
/// Checks start 10 ms apart and back off to 100 ms, so a quick change is seen quickly and a long wait costs little.
/// </summary>
public static class Poll
{
    private static readonly TimeSpan FirstInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan LongestInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// True as soon as the condition holds; false if it still does not once the timeout has passed (it
    /// is checked at the end too). Timeout.InfiniteTimeSpan waits until the condition holds or ct is cancelled.
    /// </summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var interval = FirstInterval;
        while (!condition())
        {
            var left = timeout == Timeout.InfiniteTimeSpan ? interval : timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) return false;
            await Task.Delay(left < interval ? left : interval, ct);
            interval = interval * 2 < LongestInterval ? interval * 2 : LongestInterval;
        }
        return true;
    }
}
