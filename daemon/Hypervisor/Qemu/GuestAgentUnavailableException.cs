namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// No guest agent answers: the guest's agent socket cannot be reached (the guest is not running), or
/// nothing answered within the command's timeout (no agent runs in the guest, or it hangs).
/// </summary>
public sealed class GuestAgentUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
