using Workspaces.Client;

namespace Workspaces.Daemon.Operations;

/// <summary>One long action: progress, cancellation, and a final done | canceled | failed.</summary>
public sealed class Operation(string kind, string target, uint owner)
{
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private double _progress;

    public string Id { get; } = Guid.NewGuid().ToString("N");
    public string Kind { get; } = kind;
    public string Target { get; } = target;
    public uint Owner { get; } = owner;
    public DateTimeOffset CreatedAt { get; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? FinishedAt { get; private set; }
    public string Status { get; private set; } = OperationStatus.Running;
    public string? Error { get; private set; }
    public CancellationTokenSource Cancellation { get; } = new();
    public Task Finished => _finished.Task;

    /// <summary>What the action says of itself beyond progress (a pull: what came from where, which peer was dropped).</summary>
    public string? Detail { get; set; }

    /// <summary>A transfer's bytes, rate and peers, for a progress bar; null for actions that move no bytes.</summary>
    public TransferInfo? Transfer { get; set; }

    public double Progress
    {
        get => Volatile.Read(ref _progress);
        set => Volatile.Write(ref _progress, Math.Clamp(value, 0, 1));
    }

    internal void Finish(string status, string? error)
    {
        (Status, Error, FinishedAt) = (status, error, DateTimeOffset.UtcNow);
        if (status == OperationStatus.Done) Progress = 1;
        _finished.TrySetResult();
    }

    public OperationInfo ToInfo() => new(Id, Kind, Target, Status, Progress, Error, CreatedAt, FinishedAt, Detail, Transfer);
}
