namespace Workspaces.Daemon.Resources;

/// <summary>No enforcement possible here; the reason is shown, never hidden.</summary>
public sealed class NoResourceController(string reason) : IResourceController
{
    public string Mode => "none";
    public string Reason => reason;
    public string? Location(string workspace) => null;
    public Task AttachAsync(string workspace, int pid, ResourceLimits limits, CancellationToken ct) => Task.CompletedTask;
    public Task UpdateAsync(string workspace, ResourceLimits limits, CancellationToken ct) => Task.CompletedTask;
    public long? OutOfMemoryKills(string workspace) => null;
    public Task ReleaseAsync(string workspace) => Task.CompletedTask;
}
