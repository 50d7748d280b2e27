using System.Collections.Concurrent;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Settles half-done moves in the background by asking the peer (MoveRecovery), for every phase and both roles
/// (issue #13 item 8): at start, every move this host left without an outcome, and afterwards any move a
/// transfer left undecided (Track). Before the API opens, a source's copy of a move recorded at Perform or later
/// is held in MigrationUnknown, so nobody starts it while its peer may hold the only copy. A peer that cannot be
/// asked is asked again with a growing backoff; a dead peer never holds the daemon's start.
/// </summary>
public sealed class MigrationResolver(
    MigrationRepository migrations,
    MoveRecovery recovery,
    ILogger<MigrationResolver> logger) : IHostedService
{
    /// <summary>First and longest wait between two rounds of asking (the backoff doubles from the first up to the second).</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1), LongestRetry = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, MigrationRow> _open = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public Task StartAsync(CancellationToken ct)
    {
        var open = migrations.Unresolved();
        foreach (var move in open)
        {
            // Only once Perform is recorded may bytes have left: before it the destination cannot finish, and this copy stays usable.
            if (move.Role == MigrationPhase.SourceRole && move.Phase is not (MigrationPhase.Begin or MigrationPhase.Prepare))
                recovery.HoldSource(move, "this daemon stopped during the move");
            _open[move.TicketHash] = move;
        }
        if (open.Count > 0) MigrationLog.Resolving(logger, open.Count);
        _loop = Task.Run(() => LoopAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken ct)
    {
        await _stopping.CancelAsync();
        if (_loop is not null) await _loop.WaitAsync(ct).ContinueWith(_ => { }, CancellationToken.None);
    }

    /// <summary>A move a transfer could not settle (its peer could not be asked): asked again in the background.</summary>
    public void Track(MigrationRow move)
    {
        _open[move.TicketHash] = move;
        _wake.Release();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var wait = FirstRetry;
        while (!ct.IsCancellationRequested)
        {
            if (_open.IsEmpty)
            {
                await Quietly(_wake.WaitAsync(Timeout.InfiniteTimeSpan, ct));
                wait = FirstRetry;
                continue;
            }
            bool progress = false;
            foreach (var move in _open.Values.ToList())
            {
                try
                {
                    var now = migrations.Find(move.TicketHash);
                    if (now is not null && now.Outcome is null or MigrationOutcome.Unknown)
                        await recovery.ResolveAsync(now, keepHere: false, ct);
                    _open.TryRemove(move.TicketHash, out _);
                    progress = true;
                }
                catch (WorkspacesException e)
                {
                    MigrationLog.Unresolved(logger, move.Name, move.Peer, move.TicketHash[..12], e.Message);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    MigrationLog.Unresolved(logger, move.Name, move.Peer, move.TicketHash[..12], e.ToString());
                }
            }
            if (_open.IsEmpty) continue;
            wait = progress ? FirstRetry : TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, LongestRetry.Ticks));
            // One awaited wait, woken early by Track: no waiter is left behind to swallow a later wake-up.
            await Quietly(_wake.WaitAsync(wait, ct));
        }
    }

    /// <summary>A wait that ends quietly when the daemon stops.</summary>
    private static Task Quietly(Task wait) => wait.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
}
