namespace Workspaces.Daemon.Core;

/// <summary>
/// Undo steps for a multi-step action: Add an undo after each step that touched the host, call
/// Success at the end; disposing without Success runs the undos in reverse order. An undo that
/// fails is logged with its exception (whatever it left behind is then the host's to clean up)
/// and does not keep the others from running, nor hide why the action failed.
/// </summary>
public sealed partial class Reverter(ILogger logger) : IAsyncDisposable
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
            try
            {
                await undo();
            }
            catch (Exception e)
            {
                // Best effort: one failed undo must not keep the others from running, but it is said.
                UndoFailed(logger, e, _undo.Count + 1);
            }
        }
    }

    [LoggerMessage(EventId = 2090, Level = LogLevel.Error, Message = "Undoing step {Step} of a failed action failed; what it made may be left on the host")]
    private static partial void UndoFailed(ILogger logger, Exception e, int step);
}
