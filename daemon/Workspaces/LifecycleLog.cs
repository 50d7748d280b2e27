namespace Workspaces.Daemon.Workspaces;

/// <summary>Log messages of the lifecycle (category Workspaces.Daemon.Workspaces.*), event ids 2000-2099.</summary>
internal static partial class LifecycleLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Workspace {Name} is {State}: {Reason}")]
    public static partial void StateChanged(ILogger logger, string name, string state, string? reason);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Re-attached to {Name} (pid {Pid}), {State}")]
    public static partial void Reattached(ILogger logger, string name, int pid, string state);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Removing QEMU pid {Pid} of {Name}, left by an unfinished start")]
    public static partial void RemovingOrphan(ILogger logger, int pid, string name);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Watching workspace {Id} failed")]
    public static partial void WatchFailed(ILogger logger, Exception e, string id);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Checked in workspace {Name} as image {Image} ({Id})")]
    public static partial void CheckedIn(ILogger logger, string name, string image, string id);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Finishing checkin of workspace {Id} as image {Image}, interrupted at step {Step}: rolling {Direction}")]
    public static partial void RecoveringCheckin(ILogger logger, string id, string image, string step, string direction);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Removing {Dir}: no workspace claims it (a create or delete was cut short)")]
    public static partial void RemovingLeftover(ILogger logger, string dir);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Data disk {Disk} ({Kind}, {Size} bytes) added to workspace {Name}{How}")]
    public static partial void DiskAdded(ILogger logger, string disk, string kind, long size, string name, string how);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Data disk {Disk} removed from workspace {Name}")]
    public static partial void DiskRemoved(ILogger logger, string disk, string name);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Could not ask {Name}'s QEMU which data disks are plugged in: {Reason}")]
    public static partial void DiskQueryFailed(ILogger logger, string name, string reason);
    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Snapshot of workspace {Name} is template {Image} ({Id}), RAM state {RamBytes} bytes")]
    public static partial void Snapshot(ILogger logger, string name, string image, string id, long ramBytes);

    [LoggerMessage(EventId = 2090, Level = LogLevel.Debug, Message = "Started {Name} in {TotalMs:0.0} ms: {Steps}")]
    public static partial void StartTraced(ILogger logger, string name, double totalMs, string steps);
}
