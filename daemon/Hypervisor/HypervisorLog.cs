namespace Workspaces.Daemon.Hypervisor;

/// <summary>Log messages of the hypervisor layer, event ids 3000-3099.</summary>
internal static partial class HypervisorLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Accelerator {Accelerator}: {Reason}")]
    public static partial void AcceleratorChosen(ILogger logger, string accelerator, string reason);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Guest pid {Pid} exited: {Reason}")]
    public static partial void GuestExited(ILogger logger, int pid, string reason);
}
