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
            return new NoResourceController("configured: resourceControl = none; limits are recorded but not enforced");
        if (bus is not null)
            return new SystemdResourceController(new SystemdManager(bus), bus.HasMachined ? new MachineManager(bus) : null);
        if (CgroupV2Controller.IsAvailable(root)) return new CgroupV2Controller(root, whyNoBus);
        if (CgroupV1Controller.IsAvailable(root)) return new CgroupV1Controller(root, whyNoBus);
        return new NoResourceController(
            $"{whyNoBus}, and there is no writable cgroup hierarchy with the cpu controller under {root}; limits are recorded but not enforced");
    }
}
