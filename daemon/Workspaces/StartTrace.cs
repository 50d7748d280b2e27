using System.Diagnostics;
using System.Text;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// Where a start's time goes: each step's milliseconds since the one before, logged at debug level as
/// one line when the start ends (issue 16: launch overhead against a bare QEMU). Costs a timestamp
/// per step when debug logging is off.
/// </summary>
internal sealed class StartTrace(ILogger logger, string workspace)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _last = Stopwatch.GetTimestamp();
    private readonly List<(string Step, double Ms)> _steps = [];

    public void Step(string name)
    {
        long now = Stopwatch.GetTimestamp();
        _steps.Add((name, Stopwatch.GetElapsedTime(_last, now).TotalMilliseconds));
        _last = now;
    }

    public void Done()
    {
        if (!logger.IsEnabled(LogLevel.Debug)) return;
        var text = new StringBuilder();
        foreach (var (step, ms) in _steps) text.Append(text.Length == 0 ? "" : ", ").Append(step).Append(' ').Append(ms.ToString("0.0")).Append(" ms");
        LifecycleLog.StartTraced(logger, workspace, Stopwatch.GetElapsedTime(_started).TotalMilliseconds, text.ToString());
    }
}
