using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Start until QEMU reports running: through workspacesd's API, against the same QEMU command line
/// started bare and driven over QMP to the same point (round after round, so a passing load falls on
/// both), and against `virsh create` of the same guest. The daemon's own trace of each start (debug
/// level, StartTrace) gives the median of every step, to show where the difference goes.
/// </summary>
public static class LaunchBench
{
    /// <summary>The environment a daemon needs for its start traces to reach its log.</summary>
    public static readonly (string Key, string Value) TraceLogging = ("Logging__LogLevel__Workspaces.Daemon.Workspaces.WorkspaceTransitions", "Debug");

    public static async Task RunAsync(DaemonProcess daemon, TestGuest guest, Libvirt? virsh, int runs, int libvirtRuns, Report report)
    {
        var client = daemon.Client;
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("launch", "guest"));

        // The same arguments workspacesd builds, in a directory of the benchmark's own.
        string dir = Path.Combine(daemon.Dir, "bare");
        Directory.CreateDirectory(dir);
        string overlay = Path.Combine(dir, "disk.qcow2");
        await Measure.MustAsync("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", guest.Disk, overlay);
        var spec = new GuestSpec("bare", "bare", 1, 256, "tcg", new Workspaces.Daemon.Workspaces.WorkspaceLayout(daemon.Dir).Guest("bare"), overlay, guest.Kernel, guest.Initrd, guest.Cmdline, SeedDrive: true);
        int pid = 0;
        async Task Bare()
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
        }
        async Task KillBare()
        {
            Process.GetProcessById(pid).Kill();
            while (Processes.IsAlive(pid)) await Task.Delay(10); // a zombie is gone (PID 1 reaps it when it will)
        }

        var ours = new List<double>();
        var bare = new List<double>();
        for (int i = -1; i < runs; i++) // one untimed round first: page cache, lazy binding
        {
            var clock = Stopwatch.StartNew();
            await client.ActAndWaitAsync("launch", "start");
            if (i >= 0) ours.Add(clock.Elapsed.TotalMilliseconds);
            await client.ActAndWaitAsync("launch", "stop", "force=true");

            clock.Restart();
            await Bare();
            if (i >= 0) bare.Add(clock.Elapsed.TotalMilliseconds);
            await KillBare();
        }
        double oursMs = Measure.Median(ours), bareMs = Measure.Median(bare);
        report.Add("launch: start -> QMP running (median)", $"{oursMs:0.0} ms", $"bare qemu-system {bareMs:0.0} ms",
            $"{oursMs - bareMs:+0.0;-0.0} ms ({oursMs / bareMs:0.00}x)", "<= +10 ms", oursMs - bareMs <= 10);
        if (StartTraces.StepMedians(daemon.Log, name => name == "launch", runs) is { Length: > 0 } steps)
            report.Add("launch: daemon's steps (median)", steps, "", "", "", null);

        if (virsh is not null)
        {
            double lv = await Measure.MedianMsAsync(libvirtRuns, _ => virsh.CreateAsync("bench-launch"), _ => virsh.DestroyAsync("bench-launch"));
            report.Add("launch: against libvirt (median)", $"{oursMs:0} ms", $"virsh create {lv:0} ms", $"{oursMs / lv:0.00}x", "< 1x (faster)", oursMs < lv);
        }
        await client.DeleteWorkspaceAsync("launch");
    }
}
