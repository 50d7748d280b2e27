using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Tests.Unit.Migration;

/// <summary>
/// The vmgenid GUID: a real RFC 9562 UUID (version 8, the RFC variant), the same for one workspace id every time
/// (restarts, saves and moves keep the machine), another for another id (each copy and clone has its own), and on
/// every guest's command line.
/// </summary>
public sealed class VmGenerationIdTests
{
    [Fact]
    public void A_workspace_id_gives_one_stable_uuid_and_another_id_another()
    {
        string first = VmGenerationId.For("3f9c0e1d2b4a6c8e");
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", first);
        Assert.True(Guid.TryParse(first, out _));
        Assert.Equal(first, VmGenerationId.For("3f9c0e1d2b4a6c8e"));
        Assert.NotEqual(first, VmGenerationId.For("3f9c0e1d2b4a6c8f"));
    }

    [Fact]
    public void Every_guest_has_a_vmgenid_device_with_its_workspaces_guid()
    {
        var spec = new GuestSpec("web1", "3f9c0e1d2b4a6c8e", 1, 64, "tcg", new WorkspaceLayout("/state/w").Guest("1"), "/state/w/1/disk.qcow2", null, null, null);
        var args = QemuCommandLine.Build(spec);
        string device = Assert.Single(args, a => a.StartsWith("vmgenid,", StringComparison.Ordinal));
        Assert.Equal($"vmgenid,guid={VmGenerationId.For("3f9c0e1d2b4a6c8e")}", device);
        Assert.Equal("-device", args[args.IndexOf(device) - 1]);
    }
}
