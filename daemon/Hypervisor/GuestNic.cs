using System.Runtime.InteropServices;

namespace Workspaces.Daemon.Hypervisor;

/// <summary>A NIC: its tap, the open descriptor QEMU is handed for it (QEMU cannot open taps itself), and the MAC the guest sees.</summary>
public sealed record GuestNic(string Tap, string Mac, SafeHandle Descriptor);
