namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>One network interface as the guest sees it: its name, MAC (if any) and addresses.</summary>
public sealed record GuestInterface(string Name, string? Mac, IReadOnlyList<GuestAddress> Addresses);
