namespace Workspaces.Daemon.Operations;

/// <summary>Log messages of operations, event ids 4000-4099.</summary>
internal static partial class OperationLog
{
    /// <summary>With the whole exception (type, inner exceptions, stack): the operation's own error keeps only the message.</summary>
    [LoggerMessage(EventId = 4000, Level = LogLevel.Warning, Message = "Operation {Kind} {Target} failed: {Error}")]
    public static partial void Failed(ILogger logger, Exception e, string kind, string target, string error);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Operation {Kind} {Target} was canceled")]
    public static partial void Canceled(ILogger logger, string kind, string target);
}
