using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Operations;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// A move's progress, as its operation shows it (GET /v1/operations/{id}, and `ws move`'s progress line).
/// Live: the phase, then the disk mirror's bytes and, once RAM moves, QEMU's own figures from query-migrate
/// (bytes sent and in all, rate, dirty pages per second, expected downtime). Cold and stateful: the bytes of
/// the saved state and the overlay sent so far, and their rate.
/// </summary>
public sealed class MoveProgress(Operation operation, string peer) : IProgress<LiveMigrationProgress>
{
    private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();

    public void Report(LiveMigrationProgress value)
    {
        if (value.Phase is "state" or "overlay")
        {
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_started).TotalSeconds;
            operation.Detail = $"move to {peer}: sending the {(value.Phase == "state" ? "saved state" : "overlay")}";
            operation.Transfer = new TransferInfo(value.DiskCopied, value.DiskTotal, 0, seconds > 0 ? Math.Round(value.DiskCopied / seconds) : 0, [peer], [], value.Phase);
            if (value.DiskTotal > 0) operation.Progress = (double)value.DiskCopied / value.DiskTotal;
            return;
        }
        operation.Detail = value is { Phase: "done", Stats: { } final }
            ? $"live move to {peer}: done, downtime {final.DowntimeMs} ms, total {final.TotalTimeMs} ms (QEMU)"
            : $"live move to {peer}: {value.Phase}";
        if (value.Stats is { } stats)
        {
            long total = stats.RamTotal;
            long done = stats.Status == "completed" ? total : Math.Max(0, total - stats.RamRemaining);
            operation.Transfer = new TransferInfo(stats.RamTransferred, total, 0, Math.Round(stats.Mbps * 1_000_000 / 8), [peer], [],
                value.Phase, stats.DirtyPagesRate, stats.ExpectedDowntimeMs);
            // The disk is copied first (a tenth of the way), then RAM.
            if (total > 0) operation.Progress = 0.1 + 0.9 * done / total;
        }
        else
        {
            operation.Transfer = new TransferInfo(value.DiskCopied, value.DiskTotal, 0, 0, [peer], [], value.Phase);
            if (value.Phase == "disk" && value.DiskTotal > 0) operation.Progress = 0.1 * value.DiskCopied / value.DiskTotal;
        }
    }
}
