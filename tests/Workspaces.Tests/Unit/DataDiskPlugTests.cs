using Microsoft.Extensions.Logging.Abstractions;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Testing;

namespace Workspaces.Tests.Unit;

/// <summary>
/// The QMP side of data disks against a fake QEMU: the unplug waits for the guest (DEVICE_DELETED) before
/// it closes the node, and a guest that never lets go leaves everything as it was; a plug that fails
/// half-way closes what it opened.
/// </summary>
public sealed class DataDiskPlugTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static string[] Commands(FakeQmpServer server)
    {
        lock (server.Received) return server.Received.ToArray();
    }

    [Fact]
    public async Task Unplug_closes_the_node_only_after_the_guest_released_the_device()
    {
        await using var server = new FakeQmpServer((_, _) => Task.FromResult<string?>("""{"return": {}}"""));
        var guest = new QemuGuest(Environment.ProcessId, await QmpClient.ConnectAsync(server.Path, None), NullLogger.Instance);
        try
        {
            var detach = guest.DetachDiskAsync("scratch", TimeSpan.FromSeconds(30), None);
            await Wait.UntilAsync(() => Commands(server).Contains("device_del"), TimeSpan.FromSeconds(10), "device_del");
            Assert.False(detach.IsCompleted);
            Assert.DoesNotContain("blockdev-del", Commands(server)); // not while the guest still has it
            await server.EventAsync("DEVICE_DELETED", """{"path": "/machine/peripheral/data-scratch/virtio-backend"}"""); // the backend's: not yet
            await server.EventAsync("DEVICE_DELETED", """{"device": "data-other", "path": "/machine/peripheral/data-other"}""");
            await server.EventAsync("DEVICE_DELETED", """{"device": "data-scratch", "path": "/machine/peripheral/data-scratch"}""");
            await detach.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(["qmp_capabilities", "device_del", "blockdev-del"], Commands(server));
            lock (server.Requests)
            {
                Assert.Equal("data-scratch", server.Requests[1].Arguments.GetProperty("id").GetString());
                Assert.Equal("data-scratch", server.Requests[2].Arguments.GetProperty("node-name").GetString());
            }
        }
        finally
        {
            await guest.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_guest_that_keeps_the_device_gets_a_clear_error_and_nothing_is_closed()
    {
        await using var server = new FakeQmpServer((_, _) => Task.FromResult<string?>("""{"return": {}}"""));
        var guest = new QemuGuest(Environment.ProcessId, await QmpClient.ConnectAsync(server.Path, None), NullLogger.Instance);
        try
        {
            var e = await Assert.ThrowsAsync<DiskBusyException>(() => guest.DetachDiskAsync("scratch", TimeSpan.FromMilliseconds(300), None));
            Assert.Contains("did not release data disk 'scratch'", e.Message);
            Assert.Equal(["qmp_capabilities", "device_del"], Commands(server));
        }
        finally
        {
            await guest.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_device_already_gone_still_has_its_node_closed()
    {
        await using var server = new FakeQmpServer((command, _) => Task.FromResult<string?>(command == "device_del"
            ? """{"error": {"class": "DeviceNotFound", "desc": "Device 'data-scratch' not found"}}"""
            : """{"return": {}}"""));
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        await DataDiskPlug.DetachAsync(qmp, "scratch", new TaskCompletionSource().Task, TimeSpan.FromSeconds(30), None);
        Assert.Equal(["qmp_capabilities", "device_del", "blockdev-del"], Commands(server));
    }

    [Fact]
    public async Task A_plug_the_port_refuses_closes_the_node_it_opened()
    {
        await using var server = new FakeQmpServer((command, _) => Task.FromResult<string?>(command == "device_add"
            ? """{"error": {"class": "GenericError", "desc": "Bus 'rp-data3' does not support hotplugging"}}"""
            : """{"return": {}}"""));
        await using var qmp = await QmpClient.ConnectAsync(server.Path, None);
        var disk = new GuestDataDisk("scratch", new DiskChain([new DiskLayer("/tmp/x.qcow2", "qcow2", false)]), 3);
        var e = await Assert.ThrowsAsync<HypervisorException>(() => DataDiskPlug.AttachAsync(qmp, disk, None));
        Assert.Contains("rp-data3", e.Message);
        Assert.Equal(["qmp_capabilities", "blockdev-add", "device_add", "blockdev-del"], Commands(server));
        lock (server.Requests)
        {
            var add = server.Requests[2].Arguments;
            Assert.Equal(("virtio-blk-pci", "scratch", "data-scratch", "rp-data3"),
                (add.GetProperty("driver").GetString(), add.GetProperty("serial").GetString(), add.GetProperty("drive").GetString(), add.GetProperty("bus").GetString()));
        }
    }

    [Fact]
    public void Every_guest_has_the_hot_plug_ports_each_with_its_own_chassis()
    {
        var spec = new GuestSpec("w", "id", 1, 128, "tcg", new GuestPaths("/d", "/d/q", "/d/p", "/d/c", "/d/s", "/d/l", "/d/a"), "/d/disk.qcow2", null, null, null);
        var ports = QemuCommandLine.Build(spec).Where(a => a.StartsWith("pcie-root-port,", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(0, GuestDataDisk.Slots).Select(DataDiskPlug.Port), ports.Select(p => p.Split(',')[1]["id=".Length..]));
        Assert.Equal(ports.Count, ports.Select(p => p.Split(',').Single(x => x.StartsWith("chassis=", StringComparison.Ordinal))).Distinct().Count());
        Assert.Equal(new HashSet<string> { "a", "b" }, DataDiskPlug.Names(["/machine/peripheral/data-a/virtio-backend", "/machine/peripheral/data-b/virtio-backend", "/machine/peripheral-anon/device[0]/virtio-backend", "/machine/peripheral/vda/virtio-backend"]));
    }
}
