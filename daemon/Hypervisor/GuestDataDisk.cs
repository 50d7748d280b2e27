using Workspaces.Daemon.Core;

namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// A data disk as the hypervisor plugs it: its name (also the serial the guest reads, and part of its
/// node and device ids), its chain from the top file down, and its slot (which hot-plug port it takes).
/// Sealed layers open with the workspace's one disk secret, handed over at launch.
/// </summary>
public sealed record GuestDataDisk(string Name, DiskChain Chain, int Slot)
{
    /// <summary>How many data disks a guest can have: each slot is a hot-plug port made at launch (Qemu/DataDiskPlug).</summary>
    public const int Slots = 8;
}
