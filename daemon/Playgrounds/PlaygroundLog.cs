namespace Workspaces.Daemon.Playgrounds;

internal static partial class PlaygroundLog
{
    [LoggerMessage(EventId = 9600, Level = LogLevel.Information, Message = "Playground {Name} applied: {Created} member(s) created, {Removed} removed")]
    public static partial void Applied(ILogger logger, string name, int created, int removed);

    [LoggerMessage(EventId = 9601, Level = LogLevel.Warning, Message = "Playground member {Name} did not get the members' names: {Reason}")]
    public static partial void NotContextualized(ILogger logger, string name, string reason);
}
