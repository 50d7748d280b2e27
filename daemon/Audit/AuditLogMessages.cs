namespace Workspaces.Daemon.Audit;

internal static partial class AuditLogMessages
{
    [LoggerMessage(EventId = 9000, Level = LogLevel.Warning, Message = "audit log: cut {Bytes} bytes of a torn or unreadable tail from {File} (a crash during a write)")]
    public static partial void TailRepaired(ILogger logger, string file, long bytes);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "audit log: resumed at seq {Seq} in {Directory}")]
    public static partial void Resumed(ILogger logger, long seq, string directory);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Error, Message = "audit log: writing failed; records are queued until it works again")]
    public static partial void WriteFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Information, Message = "audit log: retention removed {Files}")]
    public static partial void Removed(ILogger logger, string files);
}
