namespace Workspaces.Daemon.Core;

/// <summary>
/// Undo steps for a multi-step action: Add an undo after each step that touched the host, call
/// Success at the end; disposing without Success runs the undos in reverse order.
/// </summary>
public sealed class Reverter : IAsyncDisposable
{
    private readonly Stack<Func<Task>> _undo = new();
    private bool _succeeded;

    public void Add(Action undo) => _undo.Push(() => { undo(); return Task.CompletedTask; });
    public void Add(Func<Task> undo) => _undo.Push(undo);
    public void Success() => _succeeded = true;

    public async ValueTask DisposeAsync()
    {
        if (_succeeded) return;
        while (_undo.TryPop(out var undo))
        {
            // Best effort: one failed undo must not keep the others from running.
            try { await undo(); } catch { }
        }
    }
}
