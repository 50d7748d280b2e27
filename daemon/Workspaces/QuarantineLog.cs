namespace Workspaces.Daemon.Workspaces;

/// <summary>Log messages of detection and quarantine, event ids 9200-9299.</summary>
internal static partial class QuarantineLog
{
    [LoggerMessage(EventId = 9200, Level = LogLevel.Warning, Message = "workspace {Workspace} put in quarantine ({Action}): {Reason}")]
    public static partial void Taken(ILogger logger, string workspace, string action, string reason);

    [LoggerMessage(EventId = 9201, Level = LogLevel.Information, Message = "workspace {Workspace} released from quarantine ({Action}) by uid {Uid}")]
    public static partial void Released(ILogger logger, string workspace, string action, uint uid);

    [LoggerMessage(EventId = 9202, Level = LogLevel.Information, Message = "workspace {Workspace} violations in {Seconds} s: spoofed {Spoofed}, egress refused {Egress}, rate dropped {Rate}")]
    public static partial void Violations(ILogger logger, string workspace, double seconds, long spoofed, long egress, long rate);

    [LoggerMessage(EventId = 9203, Level = LogLevel.Error, Message = "reading the traffic counters failed")]
    public static partial void PollFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 9204, Level = LogLevel.Error, Message = "the detection policy could not quarantine workspace {Workspace}")]
    public static partial void TakeFailed(ILogger logger, string workspace, Exception error);
}
