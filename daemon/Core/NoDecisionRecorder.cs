namespace Workspaces.Daemon.Core;

/// <summary>The default recorder: keeps nothing (events on the EventBus still carry every decision).</summary>
public sealed class NoDecisionRecorder : IDecisionRecorder
{
    public void Record(DecisionRecord decision) { }
}
