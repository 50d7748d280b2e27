namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// A guest-exec process as the agent reports it: ended or not; its exit code, or the signal that
/// ended it; what it wrote (only with capture-output, only once it has ended); whether the agent
/// cut that short (qemu-ga keeps at most 16 MiB per stream).
/// </summary>
public sealed record GuestExecStatus(bool Exited, int? ExitCode, int? Signal, byte[] Stdout, byte[] Stderr, bool Truncated);
