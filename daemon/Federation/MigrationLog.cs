namespace Workspaces.Daemon.Federation;

internal static partial class MigrationLog
{
    [LoggerMessage(EventId = 9300, Level = LogLevel.Information, Message = "Resolving {Count} move(s) left unfinished at the last stop")]
    public static partial void Resolving(ILogger logger, int count);

    [LoggerMessage(EventId = 9301, Level = LogLevel.Information, Message = "Move of {Name} to {Peer} (ticket {Ticket}) resolved: {Outcome} ({Why})")]
    public static partial void Resolved(ILogger logger, string name, string peer, string ticket, string outcome, string why);

    [LoggerMessage(EventId = 9302, Level = LogLevel.Warning, Message = "Move of {Name} with {Peer} (ticket {Ticket}) stays unresolved: {Why}")]
    public static partial void Unresolved(ILogger logger, string name, string peer, string ticket, string why);

    [LoggerMessage(EventId = 9303, Level = LogLevel.Information, Message = "Move of {Name} (ticket {Ticket}): {Phase} {What}")]
    public static partial void Phase(ILogger logger, string name, string ticket, string phase, string what);
}
