namespace Workspaces.Daemon.Hypervisor;

/// <summary>How a guest ended: Clean when it shut down in order (guest poweroff, quit, signal), with why.</summary>
public sealed record GuestExit(bool Clean, string Reason);
