namespace Workspaces.Daemon.Resources;

/// <summary>No enforcement possible here; the reason is shown, never hidden.</summary>
public sealed class NoResourceController(string reason) : IResourceController
{
    public string Mode => "none";
    public string Reason => reason;
    public string? Location(string id) => null;
    public Task AttachAsync(string id, string description, int pid, ResourceLimits limits, CancellationToken ct) => Task.CompletedTask;
    public Task UpdateAsync(string id, ResourceLimits limits, CancellationToken ct) => Task.CompletedTask;
    public long? OutOfMemoryKills(string id) => null;
    public Task ReleaseAsync(string id) => Task.CompletedTask;
}
