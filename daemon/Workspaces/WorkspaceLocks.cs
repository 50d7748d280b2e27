namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// One lock per workspace id: a workspace's transitions, Factory operations and guest observations
/// run one at a time; different workspaces proceed in parallel. An entry lives only while someone
/// holds or waits for it: the daemon keeps no object per defined workspace (10,000 defined cost rows
/// in SQLite, not semaphores here).
/// </summary>
public sealed class WorkspaceLocks
{
    private readonly Dictionary<string, Entry> _locks = new(StringComparer.Ordinal);

    /// <summary>How many workspaces have a lock now (held or waited for): for tests of the footprint.</summary>
    public int Count
    {
        get { lock (_locks) return _locks.Count; }
    }

    public async Task<IDisposable> TakeAsync(string id, CancellationToken ct)
    {
        Entry entry;
        lock (_locks)
        {
            if (!_locks.TryGetValue(id, out entry!)) _locks[id] = entry = new Entry();
            entry.Users++; // counted before the wait, so no one removes the entry under a waiter
        }
        try
        {
            await entry.Gate.WaitAsync(ct);
        }
        catch
        {
            Leave(id, entry);
            throw;
        }
        return new Releaser(this, id, entry);
    }

    private void Leave(string id, Entry entry)
    {
        lock (_locks)
        {
            if (--entry.Users == 0) _locks.Remove(id);
        }
    }

    private sealed class Entry
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public int Users; // holders and waiters; guarded by the dictionary's lock
    }

    private sealed class Releaser(WorkspaceLocks owner, string id, Entry entry) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            entry.Gate.Release();
            owner.Leave(id, entry);
        }
    }
}
