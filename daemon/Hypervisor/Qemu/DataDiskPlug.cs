using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// How a data disk is plugged into, and out of, a running QEMU: its chain opened as one block node
/// (blockdev-add, the file nodes inline), a virtio-blk device on that node in the disk's own
/// pcie-root-port, with the disk's name as its serial. The same path serves a hot-plug into a running
/// guest and the plug at start (before the vCPUs run), so a disk looks the same to the guest either way.
/// </summary>
public static class DataDiskPlug
{
    /// <summary>
    /// Root ports reserved for data disks, made at launch: q35's PCIe has no hot-plug on the root bus
    /// itself, a device can only be hot-plugged into a free (pcie-)root port that existed when the
    /// machine was made. Eight bounds the data disks of one workspace; each port costs the guest one PCI
    /// function on pcie.0 and a little MMIO window, and the root bus has 32 slots.
    /// </summary>
    public const int Ports = GuestDataDisk.Slots;

    /// <summary>Chassis numbers must be unique per port: 1 and 2 are the sealed disk's and the NIC's.</summary>
    private const int FirstChassis = 3;

    /// <summary>The secret object every sealed layer of the workspace opens with (added at launch for a sealed workspace).</summary>
    public const string SecretId = "disk-secret";

    public static string Port(int slot) => $"rp-data{slot}";
    public static string DeviceId(string name) => $"data-{name}";
    public static string NodeName(string name) => $"data-{name}";

    /// <summary>The -device arguments of the reserved ports.</summary>
    public static IEnumerable<string> PortArguments() =>
        Enumerable.Range(0, Ports).SelectMany(slot => new[] { "-device", $"pcie-root-port,id={Port(slot)},bus=pcie.0,chassis={FirstChassis + slot}" });

    /// <summary>Opens the disk's chain and plugs it; if the device cannot be plugged, the node is closed again.</summary>
    public static async Task AttachAsync(QmpClient qmp, GuestDataDisk disk, CancellationToken ct)
    {
        if (disk.Slot is < 0 or >= Ports) throw new HypervisorException($"data disk '{disk.Name}' has slot {disk.Slot}; there are {Ports} ports");
        var node = BlockGraph.Build(disk.Chain, NodeName(disk.Name), SecretId);
        node["discard"] = "unmap"; // the guest's TRIM gives space back to the host, as the system disk's does
        try
        {
            await qmp.BlockdevAddAsync(node, ct);
        }
        catch (QmpException e)
        {
            throw new HypervisorException($"QEMU could not open data disk '{disk.Name}': {e.Message}");
        }
        try
        {
            await qmp.DeviceAddAsync(new JsonObject
            {
                ["driver"] = "virtio-blk-pci", ["drive"] = NodeName(disk.Name), ["bus"] = Port(disk.Slot),
                ["id"] = DeviceId(disk.Name), ["serial"] = disk.Name,
            }, ct);
        }
        catch (QmpException e)
        {
            await qmp.BlockdevDelAsync(NodeName(disk.Name), CancellationToken.None);
            throw new HypervisorException($"QEMU could not plug data disk '{disk.Name}' into port {Port(disk.Slot)}: {e.Message}");
        }
    }

    /// <summary>
    /// device_del, then the wait for the guest to release the device (deleted: completes when QEMU says
    /// DEVICE_DELETED), then the node is closed. A device already gone (an earlier unplug that finished
    /// after its caller gave up) is not an error. Past the timeout nothing more is done: the device and
    /// its node stay as they are, and the unplug request stays with the guest.
    /// </summary>
    public static async Task DetachAsync(QmpClient qmp, string name, Task deleted, TimeSpan timeout, CancellationToken ct)
    {
        bool present = true;
        try
        {
            await qmp.DeviceDelAsync(DeviceId(name), ct);
        }
        catch (QmpException e) when (e.ErrorClass == "DeviceNotFound")
        {
            present = false;
        }
        if (present)
        {
            try
            {
                await deleted.WaitAsync(timeout, ct);
            }
            catch (TimeoutException)
            {
                throw new DiskBusyException(
                    $"the guest did not release data disk '{name}' within {timeout.TotalSeconds:0} s (is it mounted, or does the guest lack PCIe hot-unplug?); " +
                    "it stays attached and recorded; unmount it in the guest and remove it again");
            }
        }
        try
        {
            await qmp.BlockdevDelAsync(NodeName(name), ct);
        }
        catch (QmpException e) when (e.Message.Contains("not found", StringComparison.OrdinalIgnoreCase))
        {
            // Closed already (by an earlier removal that got this far): nothing left to close.
        }
    }

    /// <summary>The data disks present, read from the qdev paths of the block devices (/machine/peripheral/data-NAME/...).</summary>
    public static IReadOnlySet<string> Names(IEnumerable<string> qdevPaths)
    {
        const string prefix = "/machine/peripheral/data-";
        return qdevPaths.Where(p => p.StartsWith(prefix, StringComparison.Ordinal))
            .Select(p => p[prefix.Length..].Split('/')[0]).ToHashSet(StringComparer.Ordinal);
    }
}
