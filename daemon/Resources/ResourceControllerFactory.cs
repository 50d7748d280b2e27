using Microsoft.Extensions.Options;

namespace Workspaces.Daemon.Resources;

/// <summary>Chooses how limits are enforced on this host, once, at start.</summary>
public static class ResourceControllerFactory
{
    public static IResourceController Choose(IOptions<WorkspacesOptions> options)
    {
        var o = options.Value;
        string root = o.CgroupRoot;
        if (o.ResourceControl == "none")
            return new NoResourceController("configured: resourceControl = none; limits are recorded but not enforced");
        if (CgroupV2Controller.IsAvailable(root)) return new CgroupV2Controller(root);
        if (CgroupV1Controller.IsAvailable(root)) return new CgroupV1Controller(root);
        return new NoResourceController(
            $"no systemd on the system bus and no writable cgroup hierarchy with the cpu controller under {root}; limits are recorded but not enforced");
    }
}
