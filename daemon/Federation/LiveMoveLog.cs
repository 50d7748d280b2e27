namespace Workspaces.Daemon.Federation;

internal static partial class LiveMoveLog
{
    [LoggerMessage(EventId = 9700, Level = LogLevel.Information, Message = "Live move of {Name} (ticket {Ticket}): the incoming guest listens for {Peer}")]
    public static partial void Listening(ILogger logger, string name, string ticket, string peer);

    [LoggerMessage(EventId = 9701, Level = LogLevel.Warning, Message = "Live move of {Name} (ticket {Ticket}) failed here; its copy is killed: {Why}")]
    public static partial void IncomingFailed(ILogger logger, string name, string ticket, string why);

    [LoggerMessage(EventId = 9702, Level = LogLevel.Information, Message = "Live move of {Name} to {Peer} (ticket {Ticket}): downtime {DowntimeMs} ms, total {TotalMs} ms, {RamMib} MiB of RAM")]
    public static partial void Migrated(ILogger logger, string name, string peer, string ticket, long downtimeMs, long totalMs, long ramMib);

    [LoggerMessage(EventId = 9703, Level = LogLevel.Warning, Message = "Live move of {Name} to {Peer} (ticket {Ticket}) failed before the switch-over; it runs on here: {Why}")]
    public static partial void FailedBeforeSwitchover(ILogger logger, string name, string peer, string ticket, string why);

    [LoggerMessage(EventId = 9704, Level = LogLevel.Error, Message = "Live move of {Name} to {Peer} (ticket {Ticket}) has an unknown outcome; the guest stays paused here: {Why}")]
    public static partial void OutcomeUnknown(ILogger logger, string name, string peer, string ticket, string why);

    [LoggerMessage(EventId = 9705, Level = LogLevel.Warning, Message = "Live move of {Name} to {Peer} (ticket {Ticket}): the peer killed its copy after the switch-over; the guest runs on here")]
    public static partial void ResumedHere(ILogger logger, string name, string peer, string ticket);

    [LoggerMessage(EventId = 9950, Level = LogLevel.Warning, Message = "Live copy of {Name} to {Peer} (ticket {Ticket}) failed after the switch-over; the source runs on and the peer drops its copy: {Why}")]
    public static partial void CopyFailed(ILogger logger, string name, string peer, string ticket, string why);
}
