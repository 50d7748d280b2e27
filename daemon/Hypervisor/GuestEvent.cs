namespace Workspaces.Daemon.Hypervisor;

public enum GuestEventKind { Paused, Resumed, Shutdown, Reset }

/// <summary>Something that happened to a guest, in hypervisor-neutral words.</summary>
public sealed record GuestEvent(GuestEventKind Kind, string Detail);
