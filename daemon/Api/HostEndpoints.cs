using System.Reflection;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

public static class HostEndpoints
{
    public static void MapHostEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/host", async (KvmProbe kvm, WorkspaceRepository workspaces, WorkspaceLifecycle lifecycle, IOptions<WorkspacesOptions> options) =>
        {
            var accelerator = await kvm.Choice;
            return Results.Json(new HostInfo(
                Assembly.GetExecutingAssembly().GetName().Version?.ToString(3) ?? "0.0.0",
                Environment.MachineName,
                accelerator.Accelerator,
                accelerator.Reason,
                Environment.ProcessorCount,
                MemTotalMiB(),
                workspaces.Count(),
                lifecycle.RunningCount,
                options.Value.StateDir), WorkspacesJson.Default.HostInfo);
        });
    }

    private static long MemTotalMiB()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
    }
}
