using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration.Live;

/// <summary>
/// The test guest in a QEMU this test launches itself (TCG, the daemon's own command line), on its own
/// overlay over the test guest's disk, attached with the daemon's QemuGuest. Incoming: started with
/// -incoming defer to receive a live migration.
/// </summary>
public sealed class LocalQemu : IAsyncDisposable
{
    public required string Dir { get; init; }
    public required string Overlay { get; init; }
    public required GuestSpec Spec { get; init; }
    public required QemuGuest Guest { get; init; }

    public static async Task<LocalQemu> StartAsync(TestGuest image, string dir, bool incoming, int memoryMiB = 256)
    {
        Directory.CreateDirectory(dir);
        string overlay = Path.Combine(dir, "disk.qcow2");
        var made = await Processes.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image.Disk, overlay], TimeSpan.FromSeconds(30));
        Assert.True(made.ExitCode == 0, made.Stderr);
        var paths = new GuestPaths(dir, Path.Combine(dir, "qmp.sock"), Path.Combine(dir, "qemu.pid"), Path.Combine(dir, "console.log"),
            Path.Combine(dir, "shell.sock"), Path.Combine(dir, "qmp.log"), Path.Combine(dir, "agent.sock"));
        var spec = new GuestSpec("live", Path.GetFileName(dir), 1, memoryMiB, "tcg", paths, overlay, image.Kernel, image.Initrd, image.Cmdline, Incoming: incoming);
        var started = await Processes.RunAsync("qemu-system-x86_64", QemuCommandLine.Build(spec), TimeSpan.FromSeconds(60));
        Assert.True(started.ExitCode == 0, started.Stderr);
        int pid = spec.ReadPid() ?? throw new InvalidOperationException("QEMU wrote no pid file");
        var qmp = await QmpClient.ConnectAsync(spec.QmpSocket, CancellationToken.None);
        return new LocalQemu { Dir = dir, Overlay = overlay, Spec = spec, Guest = new QemuGuest(pid, qmp, NullLogger.Instance) };
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
