using Microsoft.Extensions.Options;
using Workspaces.Daemon.Systemd;

namespace Workspaces.Daemon.Resources;

/// <summary>Chooses how limits are enforced on this host, once, at start.</summary>
public static class ResourceControllerFactory
{
    public static IResourceController Choose(IOptions<WorkspacesOptions> options, SystemBus? bus, string whyNoBus)
    {
        var o = options.Value;
        string root = o.CgroupRoot;
        if (o.ResourceControl == "none")
            return new NoResourceController("configured: resourceControl = none; limits are not enforced");
        if (bus is not null)
            return new SystemdResourceController(new SystemdManager(bus), bus.HasMachined ? new MachineManager(bus) : null);
        // Present is not enough: a container may mount the tree read-only (then every start would fail writing it).
        if (CgroupV2Controller.IsAvailable(root))
            return CgroupDirectory.Writable(root) is { } no ? ReadOnly(whyNoBus, no) : new CgroupV2Controller(root, whyNoBus);
        if (CgroupV1Controller.IsAvailable(root))
            return (CgroupDirectory.Writable(Path.Combine(root, "cpu")) ?? CgroupDirectory.Writable(Path.Combine(root, "memory"))) is { } no
                ? ReadOnly(whyNoBus, no) : new CgroupV1Controller(root, whyNoBus);
        return new NoResourceController(
            $"{whyNoBus}, and there is no writable cgroup hierarchy with the cpu controller under {root}; limits are not enforced");
    }

    private static NoResourceController ReadOnly(string whyNoBus, string why) =>
        new($"{whyNoBus}, and the cgroup tree cannot be written ({why}); limits are not enforced");
}
