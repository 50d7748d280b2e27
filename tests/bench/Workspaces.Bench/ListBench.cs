using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>`ws list` with 100 workspaces against `virsh list --all` with 100 domains; the daemon's RSS idle and loaded.</summary>
public static class ListBench
{
    public static async Task RunAsync(DaemonProcess daemon, Libvirt? virsh, int runs, int domains, Report report)
    {
        var client = daemon.Client;
        await Task.Delay(2000); // let start-up work settle before reading idle memory
        long idle = Measure.RssKiB(daemon.Pid);

        for (int i = 0; i < 100; i++) await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"w{i:000}", "guest"));
        string ws = Repo.NativeCli ?? throw new InvalidOperationException("WORKSPACES_CLI must name the Native AOT ws");
        string socket = daemon.Socket;
        var (code, output, err) = await Measure.RunAsync(ws, "--socket", socket, "list");
        if (code != 0 || output.Split('\n').Count(l => l.Contains(" w0")) != 100) throw new InvalidOperationException($"ws list did not list 100 workspaces: {err}");
        double ours = await Measure.MedianMsAsync(runs, _ => Measure.MustAsync(ws, "--socket", socket, "list"));
        long loaded = Measure.RssKiB(daemon.Pid);
        report.Add("daemon RSS, idle", $"{idle / 1024.0:0.0} MiB", "", "", "<= 60 MiB", idle <= 60 * 1024);
        report.Add("daemon RSS, 100 defined", $"{loaded / 1024.0:0.0} MiB", "", "", "", null);

        if (virsh is not null)
        {
            for (int i = 0; i < domains; i++) await virsh.DefineAsync($"bench-{i:000}");
            double lv = await Measure.MedianMsAsync(runs, _ => Measure.MustAsync("virsh", "-c", "qemu:///system", "list", "--all"));
            report.Add("ws list, 100 defined (median)", $"{ours:0.0} ms", $"virsh list --all ({domains} defined) {lv:0.0} ms", $"{ours / lv:0.00}x", "<= 1x (not slower)", ours <= lv);
            for (int i = 0; i < domains; i++) await virsh.UndefineAsync($"bench-{i:000}");
        }
        else
        {
            report.Add("ws list, 100 defined (median)", $"{ours:0.0} ms", "(libvirt skipped)", "", "<= virsh list --all", null);
        }
        for (int i = 0; i < 100; i++) await client.DeleteWorkspaceAsync($"w{i:000}");
    }
}
