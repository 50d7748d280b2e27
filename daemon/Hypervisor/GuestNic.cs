using System.Runtime.InteropServices;

namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// A NIC: its tap, the open descriptor QEMU is handed for it (QEMU cannot open taps itself), and the MAC the guest sees.
/// Mtu, when set (a spanning network's smaller frames), is offered to the guest by virtio-net itself
/// (host_mtu: the guest's driver takes it without DHCP or a command line).
/// </summary>
public sealed record GuestNic(string Tap, string Mac, SafeHandle Descriptor, int? Mtu = null);
