using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Workspaces.Native;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>IHypervisor on qemu-system: launch (daemonized, -S, QMP) and re-attach by pid and QMP socket.</summary>
public sealed class QemuDriver(IOptions<WorkspacesOptions> options, ILoggerFactory loggers) : IHypervisor
{
    public async Task<IGuest> LaunchAsync(GuestSpec spec, CancellationToken ct)
    {
        Directory.CreateDirectory(spec.RuntimeDir);
        File.Delete(spec.QmpSocket);
        File.Delete(spec.PidFile);
        File.Delete(spec.ShellSocket);
        // One console log per boot, so a reader waiting for a marker never sees the last boot's;
        // the previous boot's log stays beside it.
        if (File.Exists(spec.ConsoleLog)) File.Move(spec.ConsoleLog, spec.ConsoleLog + ".1", overwrite: true);

        var start = new ProcessStartInfo(options.Value.QemuBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in QemuCommandLine.Build(spec)) start.ArgumentList.Add(arg);

        // With -daemonize the process we start exits once the guest's process has initialized;
        // a non-zero exit means QEMU refused the command line or a resource.
        using (var parent = Process.Start(start) ?? throw new HypervisorException($"{start.FileName} did not start"))
        {
            var stderr = parent.StandardError.ReadToEndAsync(ct);
            await parent.WaitForExitAsync(ct);
            if (parent.ExitCode != 0)
                throw new HypervisorException($"QEMU refused to start '{spec.Name}': {FirstLine(await stderr)}");
        }

        int pid = spec.ReadPid() ?? throw new HypervisorException($"QEMU started '{spec.Name}' but wrote no pid file");
        try
        {
            var qmp = await QmpClient.ConnectAsync(spec.QmpSocket, ct);
            try
            {
                if (spec.SealedDisk is not null) await PlugSealedDiskAsync(qmp, spec, ct);
            }
            catch
            {
                await qmp.DisposeAsync();
                throw;
            }
            return new QemuGuest(pid, qmp, loggers.CreateLogger<QemuGuest>());
        }
        catch
        {
            Libc.SendSignal(pid, Libc.SIGKILL);
            throw;
        }
    }

    /// <summary>
    /// The secret goes to QEMU over QMP (never a command line or a file), then the chain is opened
    /// and the disk plugged into its root port, all while the vCPUs are still stopped (-S).
    /// </summary>
    private static async Task PlugSealedDiskAsync(QmpClient qmp, GuestSpec spec, CancellationToken ct)
    {
        const string secret = "disk-secret", node = "disk0";
        await qmp.AddSecretAsync(secret, spec.DiskSecret ?? throw new HypervisorException($"'{spec.Name}' has a sealed disk but no secret"), ct);
        try
        {
            await qmp.BlockdevAddAsync(BlockGraph.Build(spec.SealedDisk!, node, secret), ct);
        }
        catch (QmpException e)
        {
            throw new HypervisorException($"QEMU could not open the sealed disk of '{spec.Name}': {e.Message}");
        }
        await qmp.DeviceAddAsync(new JsonObject
        {
            ["driver"] = "virtio-blk-pci", ["drive"] = node, ["bus"] = QemuCommandLine.SealedDiskPort, ["id"] = "vda",
        }, ct);
    }

    public async Task<IGuest?> AttachAsync(GuestSpec spec, int pid, CancellationToken ct)
    {
        // The pid must still be our QEMU: the same process may have died and the number been reused.
        if (!IsOurQemu(pid, spec.QmpSocket)) return null;
        try
        {
            var qmp = await QmpClient.ConnectAsync(spec.QmpSocket, ct);
            return new QemuGuest(pid, qmp, loggers.CreateLogger<QemuGuest>());
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or QmpDisconnectedException)
        {
            return null;
        }
    }

    private static bool IsOurQemu(int pid, string qmpSocket)
    {
        return ProcessTable.IsAlive(pid)
            && ProcessTable.CommandLine(pid) is { } args
            && args.Any(a => a.Contains(qmpSocket, StringComparison.Ordinal));
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return string.IsNullOrEmpty(line) ? "no message" : line;
    }
}
