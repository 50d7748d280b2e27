namespace Workspaces.Native;

/// <summary>Who is on the other end of a Unix socket, as the kernel recorded at connect time.</summary>
public readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid);
