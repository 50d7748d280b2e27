using System.Collections.Concurrent;
using Workspaces.Daemon.Resources;

namespace Workspaces.Tests.Unit.Fakes;

/// <summary>
/// IResourceController for unit tests: a group per workspace id, held from AttachAsync until
/// ReleaseAsync, so a test can see what a failed action left behind. The real controllers need a
/// cgroup file system (rmdir of a group with files fails in an ordinary directory) or systemd, so
/// this one stands in; OnAttach injects a fault after the group was made (an attach that fails
/// half-way, leaving part of its cgroups).
/// </summary>
public sealed class FakeResourceController : IResourceController
{
    private readonly ConcurrentDictionary<string, int> _groups = new();

    public string Mode => "fake";
    public string Reason => "unit tests: groups are only recorded";

    /// <summary>Runs after the group is made and before the process is placed in it: throw to fail the attach.</summary>
    public Func<string, int, Task>? OnAttach { get; set; }

    /// <summary>Each workspace's OOM kill count, as memory.events would tell.</summary>
    public ConcurrentDictionary<string, long> OomKills { get; } = new();

    /// <summary>Every release asked for, in order (a release of a group that is not there is legal).</summary>
    public ConcurrentQueue<string> Releases { get; } = new();

    public bool Holds(string id) => _groups.ContainsKey(id);
    public int? PidIn(string id) => _groups.TryGetValue(id, out int pid) && pid != 0 ? pid : null;
    public IReadOnlyCollection<string> Groups => _groups.Keys.ToList();

    public string? Location(string id) => "fake:/workspaces/" + id;

    public async Task AttachAsync(string id, string description, int pid, ResourceLimits limits, CancellationToken ct)
    {
        _groups[id] = 0;
        if (OnAttach is { } fault) await fault(id, pid);
        _groups[id] = pid;
    }

    public Task UpdateAsync(string id, ResourceLimits limits, CancellationToken ct) => Task.CompletedTask;

    public long? OutOfMemoryKills(string id) => OomKills.TryGetValue(id, out long n) ? n : null;

    public Task ReleaseAsync(string id)
    {
        Releases.Enqueue(id);
        _groups.TryRemove(id, out _);
        return Task.CompletedTask;
    }
}
