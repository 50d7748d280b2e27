namespace Workspaces.Daemon.Network;

internal static partial class SpanLog
{
    [LoggerMessage(EventId = 9510, Level = LogLevel.Warning, Message = "Spanning networks are not all connected: {Why}; trying again at the next peer check")]
    public static partial void NotSpanned(ILogger logger, string why);
}
