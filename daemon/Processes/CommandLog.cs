namespace Workspaces.Daemon.Processes;

/// <summary>Log messages of external commands (category Workspaces.Daemon.Processes.CommandRunner), event ids 5000-5099.</summary>
internal static partial class CommandLog
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Debug, Message = "{Command} (pid {Pid}) exited {ExitCode} after {ElapsedMs} ms; stderr: {StderrTail}")]
    public static partial void Exited(ILogger logger, string command, int pid, int exitCode, long elapsedMs, string stderrTail);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "{Command} (pid {Pid}) was canceled after {ElapsedMs} ms and killed")]
    public static partial void Canceled(ILogger logger, string command, int pid, long elapsedMs);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "{Command} could not be started")]
    public static partial void NotStarted(ILogger logger, Exception e, string command);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Not every process below pid {Pid} could be killed")]
    public static partial void KillIncomplete(ILogger logger, Exception e, int pid);
}
