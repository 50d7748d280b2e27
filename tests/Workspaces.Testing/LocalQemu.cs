using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
namespace Workspaces.Testing;

/// <summary>
/// The test guest in a QEMU this test launches itself (TCG, the daemon's own command line), on its own
/// overlay over the test guest's disk (or on sharedOverlay, for a baseline migration with shared storage), attached with the daemon's QemuGuest. Incoming: started with
/// -incoming defer to receive a live migration.
/// </summary>
public sealed class LocalQemu : IAsyncDisposable
{
    public required string Dir { get; init; }
    public required string Overlay { get; init; }
    public required GuestSpec Spec { get; init; }
    public required QemuGuest Guest { get; init; }
    /// <summary>The monitor under Guest, for a baseline driven by bare QMP commands (its events go to Guest).</summary>
    public required QmpClient Qmp { get; init; }

    public static async Task<LocalQemu> StartAsync(TestGuest image, string dir, bool incoming, int memoryMiB = 256, string? sharedOverlay = null)
    {
        Directory.CreateDirectory(dir);
        string overlay = sharedOverlay ?? Path.Combine(dir, "disk.qcow2");
        if (sharedOverlay is null) await CreateOverlayAsync(image, overlay);
        var paths = new GuestPaths(dir, Path.Combine(dir, "qmp.sock"), Path.Combine(dir, "qemu.pid"), Path.Combine(dir, "console.log"),
            Path.Combine(dir, "shell.sock"), Path.Combine(dir, "qmp.log"), Path.Combine(dir, "agent.sock"));
        var spec = new GuestSpec("live", Path.GetFileName(dir), 1, memoryMiB, "tcg", paths, overlay, image.Kernel, image.Initrd, image.Cmdline, Incoming: incoming);
        // Not daemonized (QEMU would send its stderr to /dev/null): in the background with stderr in qemu.err, for diagnosis.
        var args = QemuCommandLine.Build(spec).Where(a => a != "-daemonize").ToList();
        string err = Path.Combine(dir, "qemu.err");
        var started = await Processes.RunAsync("bash", ["-c", $"exec qemu-system-x86_64 \"$@\" </dev/null >>'{err}' 2>&1 &", "qemu", .. args], TimeSpan.FromSeconds(60));
        if (started.ExitCode != 0) throw new InvalidOperationException($"QEMU did not start: {started.Stderr}");
        int pid = 0;
        await Wait.UntilAsync(() => spec.ReadWrittenPid() is { } p && (pid = p) > 0 && File.Exists(spec.QmpSocket), TimeSpan.FromSeconds(60), $"QEMU's pid file and monitor ({err})");
        var qmp = await QmpClient.ConnectAsync(spec.QmpSocket, CancellationToken.None);
        return new LocalQemu { Dir = dir, Overlay = overlay, Spec = spec, Guest = new QemuGuest(pid, qmp, NullLogger.Instance), Qmp = qmp };
    }

    /// <summary>A new qcow2 overlay over the test guest's disk.</summary>
    public static async Task CreateOverlayAsync(TestGuest image, string overlay)
    {
        var made = await Processes.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image.Disk, overlay], TimeSpan.FromSeconds(30));
        if (made.ExitCode != 0) throw new InvalidOperationException($"qemu-img create failed: {made.Stderr}");
    }

    /// <summary>Runs the guest and waits for its ready marker on the console.</summary>
    public async Task BootAsync()
    {
        await Guest.RunAsync(CancellationToken.None);
        await Wait.UntilAsync(() => File.Exists(Spec.ConsoleLog) && File.ReadAllText(Spec.ConsoleLog).Contains("WORKSPACE-COMMANDS"),
            TimeSpan.FromMinutes(3), "the test guest's command port");
    }

    public Task<string> ShellAsync(string command) => GuestShell.RunAtAsync(Spec.ShellSocket, "live", command, TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        try { await Guest.KillAsync(CancellationToken.None); }
        catch (Exception e) { Debug.WriteLine(e); }
        await Guest.DisposeAsync();
    }
}
