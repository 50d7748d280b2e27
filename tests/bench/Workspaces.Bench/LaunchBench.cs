using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Start until QEMU reports running: through workspacesd's API, against the same QEMU command line
/// started bare and driven over QMP to the same point, and against `virsh create` of the same guest.
/// </summary>
public static class LaunchBench
{
    public static async Task RunAsync(DaemonProcess daemon, TestGuest guest, Libvirt? virsh, int runs, int libvirtRuns, Report report)
    {
        var client = daemon.Client;
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("launch", "guest"));
        double ours = await Measure.MedianMsAsync(runs,
            _ => client.ActAndWaitAsync("launch", "start"),
            _ => client.ActAndWaitAsync("launch", "stop", "force=true"));

        // The same arguments workspacesd builds, in a directory of the benchmark's own.
        string dir = Path.Combine(daemon.Dir, "bare");
        Directory.CreateDirectory(dir);
        string overlay = Path.Combine(dir, "disk.qcow2");
        await Measure.MustAsync("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", guest.Disk, overlay);
        var spec = new GuestSpec("bare", "bare", 1, 256, "tcg", new Workspaces.Daemon.Workspaces.WorkspaceLayout(daemon.Dir).Guest("bare"), overlay, guest.Kernel, guest.Initrd, guest.Cmdline);
        int pid = 0;
        double bare = await Measure.MedianMsAsync(runs, async _ =>
        {
            File.Delete(spec.QmpSocket);
            File.Delete(spec.PidFile);
            var start = new ProcessStartInfo("qemu-system-x86_64") { RedirectStandardError = true };
            foreach (var a in QemuCommandLine.Build(spec)) start.ArgumentList.Add(a);
            using (var p = Process.Start(start)!)
            {
                var err = p.StandardError.ReadToEndAsync();
                await p.WaitForExitAsync();
                if (p.ExitCode != 0) throw new InvalidOperationException($"bare QEMU failed: {await err}");
            }
            pid = int.Parse(File.ReadAllText(spec.PidFile).Trim());
            await using var qmp = await QmpClient.ConnectAsync(spec.QmpSocket, CancellationToken.None);
            await qmp.ContinueAsync(CancellationToken.None);
            if (await qmp.QueryStatusAsync(CancellationToken.None) != "running") throw new InvalidOperationException("bare QEMU is not running");
        }, async _ =>
        {
            Process.GetProcessById(pid).Kill();
            while (Processes.IsAlive(pid)) await Task.Delay(10); // a zombie is gone (PID 1 reaps it when it will)
        });

        report.Add("launch: start -> QMP running (median)", $"{ours:0} ms", $"bare qemu-system {bare:0} ms",
            $"{ours - bare:+0;-0} ms ({ours / bare:0.00}x)", "<= +50 ms", ours - bare <= 50);
        if (virsh is not null)
        {
            double lv = await Measure.MedianMsAsync(libvirtRuns, _ => virsh.CreateAsync("bench-launch"), _ => virsh.DestroyAsync("bench-launch"));
            report.Add("launch: against libvirt (median)", $"{ours:0} ms", $"virsh create {lv:0} ms", $"{ours / lv:0.00}x", "< 1x (faster)", ours < lv);
        }
        await client.DeleteWorkspaceAsync("launch");
    }
}
