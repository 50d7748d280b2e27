namespace Workspaces.Daemon.Hypervisor;

/// <summary>The guest did not release a disk it was asked to give back: nothing was removed.</summary>
public sealed class DiskBusyException(string message) : Exception(message);
