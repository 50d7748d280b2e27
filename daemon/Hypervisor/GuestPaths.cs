namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// Where one guest's QEMU keeps its sockets, pid file and logs: its directory, as the workspace
/// layout (Workspaces/WorkspaceLayout.cs) lays it out. AgentSocket: the guest agent's virtio-serial port.
/// </summary>
public sealed record GuestPaths(string Dir, string QmpSocket, string PidFile, string ConsoleLog, string ShellSocket, string QmpLog, string AgentSocket);
