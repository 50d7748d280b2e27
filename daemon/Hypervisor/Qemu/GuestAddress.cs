namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>An IP address on a guest interface: "ipv4" or "ipv6", the address, its prefix length.</summary>
public sealed record GuestAddress(string Type, string Address, int Prefix);
