using Workspaces.Daemon.Core;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.Processes;
using Workspaces.Native;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>IHypervisor on qemu-system: launch (daemonized, -S, QMP) and re-attach by pid and QMP socket.</summary>
public sealed class QemuDriver(IOptions<WorkspacesOptions> options, CommandRunner runner, ILoggerFactory loggers) : IHypervisor
{
    public async Task<IGuest> LaunchAsync(GuestSpec spec, CancellationToken ct)
    {
        Directory.CreateDirectory(spec.RuntimeDir);
        File.Delete(spec.QmpSocket);
        File.Delete(spec.PidFile);
        File.Delete(spec.ShellSocket);
        File.Delete(spec.AgentSocket);
        // One console log per boot, so a reader waiting for a marker never sees the last boot's;
        // the previous boot's log stays beside it.
        if (File.Exists(spec.ConsoleLog)) File.Move(spec.ConsoleLog, spec.ConsoleLog + ".1", overwrite: true);

        var command = Launcher(spec).Append(options.Value.QemuBinary).Concat(QemuCommandLine.Build(spec)).ToList();

        // With -daemonize the process we start exits once the guest's process has initialized (and
        // let go of our pipes); a non-zero exit means QEMU refused the command line or a resource.
        CommandResult launched;
        try
        {
            launched = await runner.RunAsync(command[0], command[1..], ct);
        }
        catch (CommandException e) when (e.ExitCode is null)
        {
            throw new HypervisorException($"QEMU could not be launched for '{spec.Name}': {e.Message}", e);
        }
        if (!launched.Succeeded)
            throw new HypervisorException($"QEMU refused to start '{spec.Name}': {CommandText.FirstLine(launched.Stderr)}", launched.Failure("QEMU"));

        int pid = spec.ReadPid() ?? throw new HypervisorException($"QEMU started '{spec.Name}' but wrote no pid file");
        try
        {
            var qmp = await ConnectAsync(spec, pid, ct);
            qmp.Log = new QmpLog(spec.Files.QmpLog);
            qmp.Log.Note($"launched QEMU pid {pid}");
            try
            {
                if (spec.SealedDisk is not null) await PlugSealedDiskAsync(qmp, spec, ct);
                foreach (var disk in spec.DataDisks ?? []) await DataDiskPlug.AttachAsync(qmp, disk, ct);
                if (spec.Nic is { } nic) await PlugNicAsync(qmp, nic, ct);
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
    /// How QEMU is started, as Firecracker's jailer would: util-linux setpriv drops to the workspace's
    /// own uid and gid with no supplementary groups (but kvm's, for /dev/kvm), no capabilities, not even
    /// in the bounding set, and no_new_privs, then execs QEMU. A daemon that is not root can only keep
    /// its own user and set no_new_privs.
    /// </summary>
    private static IEnumerable<string> Launcher(GuestSpec spec)
    {
        if (!Environment.IsPrivilegedProcess) return ["setpriv", "--no-new-privs", "--"];
        var args = new List<string> { "setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all" };
        if (spec.RunAs is { } id)
        {
            args.AddRange(["--reuid", id.ToString(), "--regid", id.ToString()]);
            args.AddRange(spec.Accelerator == "kvm" && Libc.GetGroupId("kvm") is { } kvm ? ["--groups", kvm.ToString()] : ["--clear-groups"]);
        }
        args.Add("--");
        return args;
    }

    /// <summary>
    /// The secret goes to QEMU over QMP (never a command line or a file), then the chain is opened
    /// and the disk plugged into its root port, all while the vCPUs are still stopped (-S).
    /// </summary>
    private static async Task PlugSealedDiskAsync(QmpClient qmp, GuestSpec spec, CancellationToken ct)
    {
        const string secret = DataDiskPlug.SecretId, node = "disk0";
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

    /// <summary>The tap's descriptor goes to QEMU with getfd; a virtio-net NIC on it is plugged while the vCPUs are stopped.</summary>
    private static async Task PlugNicAsync(QmpClient qmp, GuestNic nic, CancellationToken ct)
    {
        await qmp.GetFdAsync("tap0", nic.Descriptor, ct);
        await qmp.NetdevAddTapAsync("net0", "tap0", ct);
        var device = new JsonObject
        {
            ["driver"] = "virtio-net-pci", ["netdev"] = "net0", ["mac"] = nic.Mac, ["bus"] = QemuCommandLine.NicPort, ["id"] = "nic0",
        };
        if (nic.Mtu is { } mtu) device["host_mtu"] = mtu;
        await qmp.DeviceAddAsync(device, ct);
    }

    /// <summary>
    /// Null when the pid is not (or no longer) our QEMU. A QEMU that is alive but whose monitor does
    /// not answer has not exited: it is tried for a while, then stopped and reported (HypervisorException).
    /// </summary>
    public async Task<IGuest?> AttachAsync(GuestSpec spec, int pid, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + MonitorPatience;
        while (true)
        {
            // The pid must still be our QEMU: the same process may have died and the number been reused.
            if (!IsOurQemu(pid, spec.QmpSocket)) return null;
            try
            {
                var qmp = await QmpClient.ConnectAsync(spec.QmpSocket, MonitorPatience / 2, ct);
                qmp.Log = new QmpLog(spec.Files.QmpLog);
                qmp.Log.Note($"re-attached to QEMU pid {pid}");
                return new QemuGuest(pid, qmp, loggers.CreateLogger<QemuGuest>());
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or QmpDisconnectedException or TimeoutException)
            {
                if (!IsOurQemu(pid, spec.QmpSocket)) return null; // it went while we knocked
                if (DateTime.UtcNow > deadline)
                {
                    // A guest nothing can control must not run on beside a restart of it on the same disk.
                    Libc.SendSignal(pid, Libc.SIGKILL);
                    throw new HypervisorException(
                        $"QEMU (pid {pid}) ran but its monitor did not answer for {MonitorPatience.TotalSeconds:0} s ({e.Message}); workspacesd stopped it, as nothing could control it", e);
                }
                await Task.Delay(200, ct); // QMP serves one client at a time: the other may be about to leave
            }
        }
    }

    /// <summary>How long a live QEMU's monitor may keep refusing before re-attach gives up on it.</summary>
    private static readonly TimeSpan MonitorPatience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A QEMU that is alive but does not complete the QMP handshake in time is not one to call gone
    /// (its disk is still in use): that is an error, not a null.
    /// </summary>
    private static async Task<QmpClient> ConnectAsync(GuestSpec spec, int pid, CancellationToken ct)
    {
        try
        {
            return await QmpClient.ConnectAsync(spec.QmpSocket, ct);
        }
        catch (TimeoutException e)
        {
            throw new HypervisorException(
                $"QEMU (pid {pid}) of '{spec.Name}' did not answer on its QMP socket within {QmpClient.DefaultConnectTimeout.TotalSeconds:0} s: it hangs, or another client holds the socket", e);
        }
    }

    private static bool IsOurQemu(int pid, string qmpSocket)
    {
        return ProcessTable.IsAlive(pid)
            && ProcessTable.CommandLine(pid) is { } args
            && args.Any(a => a.Contains(qmpSocket, StringComparison.Ordinal));
    }
}
