using System.Collections.Concurrent;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// One lock per workspace id: a workspace's transitions, Factory operations and guest observations
/// run one at a time; different workspaces proceed in parallel.
/// </summary>
public sealed class WorkspaceLocks
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();

    public async Task<IDisposable> TakeAsync(string id, CancellationToken ct)
    {
        var gate = _locks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }
}
