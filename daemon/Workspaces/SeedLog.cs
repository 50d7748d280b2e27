namespace Workspaces.Daemon.Workspaces;

/// <summary>Log messages of seeds and first boots (category Workspaces.Daemon.Workspaces.*), event ids 2100-2119.</summary>
internal static partial class SeedLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Workspace {Name} confirmed its first boot: its seed no longer carries its private key and secrets")]
    public static partial void Delivered(ILogger logger, string name);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Workspace {Name}: the cdrom kept the seed it booted with ({Reason}); the new seed applies from its next boot")]
    public static partial void MediumKept(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Watching the first boot of workspace {Name} failed")]
    public static partial void WatchFailed(ILogger logger, Exception e, string name);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Workspace {Name} gave no first-boot confirmation within {Minutes} min (no agent or no cloud-init): its seed keeps its one-time files until a boot is confirmed")]
    public static partial void NotConfirmed(ILogger logger, string name, int minutes);
}
