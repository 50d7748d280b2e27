using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// A host whose cgroup tree is mounted read-only (as in many containers): the daemon says limits are
/// not enforced and why, launches without limits work, and asking for a limit is refused with the reason.
/// The daemon runs in a mount namespace of its own where every cgroup mount is remounted read-only.
/// </summary>
public sealed class ReadOnlyCgroupTests
{
    private const string RemountReadOnly =
        "for m in $(findmnt -rn -t cgroup,cgroup2 -o TARGET); do mount -o remount,bind,ro \"$m\"; done; exec \"$0\" \"$@\"";

    [Fact]
    public async Task Limits_are_refused_with_the_reason_and_plain_launches_work()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("unshare", "findmnt");
        await using var daemon = new DaemonProcess { Launcher = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", RemountReadOnly] };
        await daemon.StartAsync();
        var client = daemon.Client;

        var host = await client.GetHostAsync();
        Assert.Equal("none", host.Enforcement);
        Assert.Contains("the cgroup tree cannot be written", host.EnforcementReason);
        Assert.Contains("Read-only file system", host.EnforcementReason);

        await GuestImages.ImportAsync(client);
        var refused = await Assert.ThrowsAsync<ApiException>(() =>
            client.CreateWorkspaceAsync(new CreateWorkspaceRequest("quota", "guest", CpuQuotaPercent: 20)));
        Assert.Equal(409, refused.Status);
        Assert.Contains("this host cannot enforce cpuQuotaPercent: ", refused.Message);
        Assert.Contains("Read-only file system", refused.Message);

        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("plain", "guest"));
        await client.ActAndWaitAsync("plain", "start");
        await daemon.WaitForConsoleAsync("plain", "WORKSPACE-READY");
        Assert.Equal(WorkspaceStates.Running, (await client.GetWorkspaceAsync("plain")).State);
        await client.DeleteWorkspaceAsync("plain", force: true);
    }
}
