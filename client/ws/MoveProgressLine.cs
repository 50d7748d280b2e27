using Workspaces.Client;

namespace Workspaces.Cli;

/// <summary>
/// `ws move`'s progress line on stderr while the move runs: its operation's phase, bytes, rate, dirty pages
/// and expected downtime ("ram 84/128 MiB 97.3 MiB/s dirty 1200 pages/s downtime ~40 ms"), redrawn in
/// place on a terminal and one line per change otherwise (--progress into a log). Stdout is left alone.
/// </summary>
public static class MoveProgressLine
{
    public static async Task FollowAsync(WorkspacesClient client, string workspace, Task move, bool terminal)
    {
        var stderr = Console.Error;
        string? last = null;
        while (!move.IsCompleted)
        {
            try
            {
                var op = (await client.ListOperationsAsync()).LastOrDefault(o => o.Kind == "move" && o.Target == workspace && o.Status == OperationStatus.Running);
                if (op is not null && Line(op) is { } line && line != last)
                {
                    stderr.Write(terminal ? $"\r\u001b[2K{line}" : line + "\n");
                    last = line;
                }
            }
            catch (Exception e) when (e is ApiException or HttpRequestException)
            {
                // Progress is a courtesy: the move's own answer says how it ended.
            }
            await Task.WhenAny(move, Task.Delay(500));
        }
        if (terminal && last is not null) stderr.Write("\r\u001b[2K");
    }

    public static string? Line(OperationInfo op)
    {
        if (op.Transfer is not { } t) return op.Detail;
        var line = $"{t.Phase ?? "transfer"} {t.BytesDone >> 20}/{t.BytesTotal >> 20} MiB";
        if (t.BytesPerSecond > 0) line += $" {t.BytesPerSecond / (1 << 20):0.0} MiB/s";
        if (t.DirtyPagesRate is { } dirty) line += $" dirty {dirty} pages/s";
        if (t.ExpectedDowntimeMs is { } downtime and > 0) line += $" downtime ~{downtime} ms";
        return $"{(int)(op.Progress * 100),3}% {line}";
    }
}
