using System.Collections.Concurrent;
using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Daemon.Operations;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// A pull's account, kept on its operation as it changes: bytes in hand of bytes to fetch (pieces
/// found on disk count as in hand), the rate over the last few seconds, bytes per peer, and the peers
/// dropped with why. Updated concurrently by the piece workers.
/// </summary>
public sealed class PullProgress(Operation operation)
{
    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<string, long> _byPeer = new();
    private readonly ConcurrentDictionary<string, string> _dropped = new();
    private readonly Queue<(TimeSpan At, long Fetched)> _samples = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private string[] _peers = [];
    private long _total, _done, _resumed, _fetched;

    public long Total => Interlocked.Read(ref _total);
    public long Fetched => Interlocked.Read(ref _fetched);
    public long Resumed => Interlocked.Read(ref _resumed);
    public TimeSpan Elapsed => _clock.Elapsed;
    public IReadOnlyDictionary<string, long> ByPeer => _byPeer;
    public IReadOnlyDictionary<string, string> Dropped => _dropped;

    public void Begin(long total, IEnumerable<string> peers)
    {
        _total = total;
        _peers = peers.Order(StringComparer.Ordinal).ToArray();
        Publish();
    }

    public void AddResumed(long bytes)
    {
        Interlocked.Add(ref _resumed, bytes);
        Interlocked.Add(ref _done, bytes);
        Publish();
    }

    public void Add(string peer, long bytes)
    {
        Interlocked.Add(ref _fetched, bytes);
        Interlocked.Add(ref _done, bytes);
        _byPeer.AddOrUpdate(peer, bytes, (_, before) => before + bytes);
        Publish();
    }

    /// <summary>Marks a peer dropped for the rest of the pull; false if it was already.</summary>
    public bool Drop(string peer, string why)
    {
        bool first = _dropped.TryAdd(peer, why);
        Publish();
        return first;
    }

    public bool IsDropped(string peer) => _dropped.ContainsKey(peer);

    private void Publish()
    {
        long done = Interlocked.Read(ref _done), fetched = Interlocked.Read(ref _fetched);
        double rate;
        lock (_lock)
        {
            var now = _clock.Elapsed;
            _samples.Enqueue((now, fetched));
            while (_samples.Count > 1 && now - _samples.Peek().At > RateWindow) _samples.Dequeue();
            var (at, then) = _samples.Peek();
            rate = now - at > TimeSpan.FromMilliseconds(200) ? (fetched - then) / (now - at).TotalSeconds : 0;
        }
        operation.Progress = _total == 0 ? 0 : (double)done / _total;
        operation.Transfer = new TransferInfo(done, _total, Interlocked.Read(ref _resumed), Math.Round(rate),
            _peers.Where(p => !_dropped.ContainsKey(p)).ToArray(), _dropped.Keys.Order(StringComparer.Ordinal).ToArray());
    }
}
