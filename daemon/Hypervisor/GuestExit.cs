namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// How a guest's attachment ended: Clean when it shut down in order (guest poweroff, quit, signal),
/// with why; Detached when workspacesd let go of a guest that goes on running (its shutdown, or a
/// stop that already recorded the end) — that is no exit, and nothing is recorded for it.
/// </summary>
public sealed record GuestExit(bool Clean, string Reason, bool Detached = false);
