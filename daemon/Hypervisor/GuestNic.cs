namespace Workspaces.Daemon.Hypervisor;

/// <summary>A NIC: the tap QEMU makes for it (and removes when it exits) and the MAC the guest sees.</summary>
public sealed record GuestNic(string Tap, string Mac);
