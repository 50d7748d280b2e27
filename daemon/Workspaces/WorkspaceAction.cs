namespace Workspaces.Daemon.Workspaces;

/// <summary>What a caller can ask of a workspace.</summary>
public enum WorkspaceAction { Start, Pause, Resume, Stop, Reboot, Delete, Checkin, Copy, Snapshot }
