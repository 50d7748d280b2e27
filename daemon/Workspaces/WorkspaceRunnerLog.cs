namespace Workspaces.Daemon.Workspaces;

/// <summary>Log messages of ws run, event ids 4400-4409.</summary>
internal static partial class WorkspaceRunnerLog
{
    [LoggerMessage(EventId = 4400, Level = LogLevel.Warning, Message = "ws run could not remove its workspace {Name}: {Reason}")]
    public static partial void RemoveFailed(ILogger logger, string name, string reason);
}
