namespace Workspaces.Daemon.Playgrounds;

/// <summary>Playgrounds across peers (wt-pgpeers: EventIds 9850-9899).</summary>
internal static partial class PlaygroundPeersLog
{
    [LoggerMessage(EventId = 9850, Level = LogLevel.Warning, Message = "Playground {Name}: its network on host {Host} was left there, the host did not answer: {Reason}")]
    public static partial void NetworkLeft(ILogger logger, string name, string host, string reason);

    [LoggerMessage(EventId = 9851, Level = LogLevel.Warning, Message = "Playground {Name}: member {Member} on host {Host} was forgotten, the host did not answer: {Reason}")]
    public static partial void MemberLeft(ILogger logger, string name, string member, string host, string reason);
}
