namespace Workspaces.Daemon.Playgrounds;

internal static partial class PlaygroundLog
{
    [LoggerMessage(EventId = 9600, Level = LogLevel.Information, Message = "Playground {Name} applied: {Created} member(s) created, {Removed} removed")]
    public static partial void Applied(ILogger logger, string name, int created, int removed);
}
