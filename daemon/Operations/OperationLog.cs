namespace Workspaces.Daemon.Operations;

/// <summary>Log messages of operations, event ids 4000-4099.</summary>
internal static partial class OperationLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Warning, Message = "Operation {Kind} {Target} failed: {Error}")]
    public static partial void Failed(ILogger logger, string kind, string target, string error);
}
