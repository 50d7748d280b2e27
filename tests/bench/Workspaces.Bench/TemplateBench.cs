using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// Fast start from RAM (issue #12 item 5). A 256 MiB test guest is booted, a job started in it, and a template
/// made of it (ws snapshot). Then, interleaved: a workspace of the plain image booted cold, and one launched from
/// the template, each timed from the create until `ws exec NAME -- true` answers (the cold boot first waits for
/// its console to say the agent runs: an exec sent earlier waits out the agent's sync timeout instead). Both are
/// on a network, so the clone's timing includes its new MAC, address and hostname.
/// `ws run guest --from warm -- true` (launch, run, remove, one command) is put beside a container-class start
/// measurable here: `unshare` of pid, mount, uts, ipc and net namespaces running `true` (no systemd, no docker daemon here).
/// </summary>
public static class TemplateBench
{
    public const double Target = 0.2, Goal = 0.1;

    public static async Task RunAsync(int runs, Report report)
    {
        await using var ns = await NetNamespace.CreateAsync("tb");
        await using var daemon = new DaemonProcess(new() { ["policy"] = new Dictionary<string, object> { ["cpuOvercommit"] = 10 } }, ns.Name);
        daemon.Environment["Logging__LogLevel__Workspaces.Daemon.Workspaces.WorkspaceTransitions"] = "Debug"; // each start's steps (StartTrace)
        await daemon.StartAsync();
        var client = daemon.Client;
        // init_on_free=1 (WORKSPACES_BENCH_INIT_ON_FREE=1): the guest zeroes what it frees, so the RAM a template saves is what is in use.
        var guest = await TestGuest.GetAsync();
        bool zeroFreed = Environment.GetEnvironmentVariable("WORKSPACES_BENCH_INIT_ON_FREE") == "1";
        await client.ImportLocalImageAsync(new ImageUpload("guest", guest.Disk, guest.Kernel, guest.Initrd,
            zeroFreed ? guest.Cmdline + " init_on_free=1" : guest.Cmdline, false));
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("source", "guest", MemoryMiB: 256, Network: "default"));
        await client.ActAndWaitAsync("source", "start");
        await daemon.WaitForConsoleAsync("source", "WORKSPACE-COMMANDS");
        await GuestShell.RunAsync(daemon, "source", "sleep 100000 > /dev/null 2>&1 &"); // the warm job
        var template = await client.SnapshotAsync("source", new SnapshotRequest("warm"));
        long ramBytes = new FileInfo(Path.Combine(daemon.StateDir, "images", template.State!.Sha256)).Length;
        await client.ActAndWaitAsync("source", "stop", "force=true");

        int n = 0;
        async Task Cold()
        {
            string name = $"cold{n++}";
            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "guest", MemoryMiB: 256, Network: "default"));
            await client.ActAndWaitAsync(name, "start");
            await daemon.WaitForConsoleAsync(name, "WORKSPACE-AGENT");
            await ExecTrueAsync(name);
        }
        async Task ExecTrueAsync(string name)
        {
            var exec = await daemon.WsAsync("exec", name, "--", "true");
            if (exec.ExitCode != 0) throw new InvalidOperationException($"ws exec {name} -- true: {exec.ExitCode} {exec.Stderr}");
        }
        async Task FromTemplate()
        {
            string name = $"clone{n++}";
            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "warm", Network: "default"));
            await client.ActAndWaitAsync(name, "start");
            await ExecTrueAsync(name);
        }
        async Task RunTrue()
        {
            var r = await daemon.WsAsync("run", "guest", "--from", "warm", "--network", "default", "--", "true");
            if (r.ExitCode != 0) throw new InvalidOperationException($"ws run --from warm -- true: {r.ExitCode} {r.Stderr}");
        }
        async Task Cleanup()
        {
            foreach (var w in await client.ListWorkspacesAsync())
                if (w.Name != "source") await client.DeleteWorkspaceAsync(w.Name, force: true);
        }
        var cold = new List<double>();
        var warm = new List<double>();
        var run = new List<double>();
        var container = new List<double>();
        string[] unshare = ["--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "--mount-proc", "true"];
        await FromTemplate(); // warm-up: page cache, JIT
        await Cleanup();
        for (int round = 0; round < runs; round++)
        {
            cold.Add(await TimeAsync(Cold));
            warm.Add(await TimeAsync(FromTemplate));
            run.Add(await TimeAsync(RunTrue));
            container.Add(await TimeAsync(() => Measure.MustAsync("unshare", unshare)));
            await Cleanup();
            Console.Error.WriteLine($"  round {round + 1}: cold {cold[^1]:0} ms, from template {warm[^1]:0} ms, run true {run[^1]:0} ms");
        }
        double c = Measure.Median(cold), w = Measure.Median(warm);
        report.Add("256 MiB guest: create+start until `ws exec NAME -- true` answers (median), from a template vs cold boot",
            $"{w:0} ms", $"cold {c:0} ms", $"{w / c:0.000}x", $"<= {Target}x (goal {Goal}x)", w / c <= Target);
        // Where a launch from the template spends its time (the daemon's StartTrace of each timed clone).
        report.Add("from a template: the daemon's start steps (median)", StartTraces.StepMedians(daemon.Log, name => name.StartsWith("clone", StringComparison.Ordinal), runs), "", "", "", null);
        report.Add("ws run guest --from warm -- true (median)", $"{Measure.Median(run):0} ms",
            $"unshare 5 namespaces + true {Measure.Median(container):0.0} ms", $"{Measure.Median(run) / Measure.Median(container):0}x", "", null);
        report.Add("template RAM state of a 256 MiB guest, zstd", $"{ramBytes / 1048576.0:0.0} MiB", "256 MiB guest", $"{ramBytes / (256.0 * 1048576):0.000}x", "", null);
    }

    private static async Task<double> TimeAsync(Func<Task> action)
    {
        var clock = Stopwatch.StartNew();
        await action();
        return clock.Elapsed.TotalMilliseconds;
    }
}
