using Workspaces.Daemon.Core;
using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Workspaces.Client;

namespace Workspaces.Daemon.Operations;

/// <summary>
/// Runs long actions in the background with a cap on how many run at once, keeps them (and the
/// recently finished ones) for GET /v1/operations, and mirrors every change on the event stream.
/// </summary>
public sealed class OperationRegistry(EventBus events, IOptions<WorkspacesOptions> options, ILogger<OperationRegistry> logger)
{
    private static readonly TimeSpan KeepFinished = TimeSpan.FromMinutes(30);
    private readonly ConcurrentDictionary<string, Operation> _operations = new();
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentOperations);

    public Operation Start(string kind, string target, Caller caller, Func<Operation, CancellationToken, Task> work)
    {
        Prune();
        var op = new Operation(kind, target, caller.Uid);
        _operations[op.Id] = op;
        Publish(op);
        _ = Task.Run(async () =>
        {
            var ct = op.Cancellation.Token;
            try
            {
                await _slots.WaitAsync(ct);
                try { await work(op, ct); }
                finally { _slots.Release(); }
                op.Finish(OperationStatus.Done, null);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                OperationLog.Canceled(logger, kind, target);
                op.Finish(OperationStatus.Canceled, $"{kind} of {target} was canceled");
            }
            catch (Exception e)
            {
                OperationLog.Failed(logger, e, kind, target, e.Message);
                op.Finish(OperationStatus.Failed, e.Message);
            }
            Publish(op);
        });
        return op;
    }

    public IEnumerable<Operation> List(Caller caller) =>
        _operations.Values.Where(o => caller.CanSee(o.Owner)).OrderBy(o => o.CreatedAt);

    public Operation? Find(string id, Caller caller) =>
        _operations.TryGetValue(id, out var op) && caller.CanSee(op.Owner) ? op : null;

    private void Publish(Operation op) =>
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "operation", op.Target, null, null, op.ToInfo()), op.Owner);

    private void Prune()
    {
        var horizon = DateTimeOffset.UtcNow - KeepFinished;
        foreach (var op in _operations.Values)
            if (op.FinishedAt < horizon) _operations.TryRemove(op.Id, out _);
    }
}
