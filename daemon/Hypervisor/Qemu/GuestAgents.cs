using System.Collections.Concurrent;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// The one GuestAgent per guest (keyed by its agent socket), so that everything that talks to one
/// guest's agent shares its queue: qemu-ga serves one client at a time.
/// </summary>
public sealed class GuestAgents : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, GuestAgent> _agents = new();

    public GuestAgent For(string socketPath) => _agents.GetOrAdd(socketPath, path => new GuestAgent(path));

    /// <summary>Drops the guest's agent (its connection closes); the next For makes a new one.</summary>
    public async Task ForgetAsync(string socketPath)
    {
        if (_agents.TryRemove(socketPath, out var agent)) await agent.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents.Values) await agent.DisposeAsync();
        _agents.Clear();
    }
}
