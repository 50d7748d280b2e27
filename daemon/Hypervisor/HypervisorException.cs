namespace Workspaces.Daemon.Hypervisor;

/// <summary>The hypervisor could not do what was asked (QEMU refused to start, a guest did not answer).</summary>
public class HypervisorException(string message, Exception? inner = null) : Exception(message, inner);
