using System.Text.Json;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// The packaged service under a real systemd: a container booted by tests/systemd/container.sh
/// (an overlay of this machine's /, systemd as PID 1, its own dbus and machined), the .deb
/// installed in it, then everything a user does with systemctl, machinectl and ws.
/// </summary>
public sealed class SystemdTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private SystemdContainer? _container;

    public async Task InitializeAsync() => _container = await SystemdContainer.BootAsync("wst", output.WriteLine, "dpkg");

    public async Task DisposeAsync()
    {
        if (_container is not null) await _container.DisposeAsync();
    }

    private Task<string> ExecAsync(string command, int expect = 0) => _container!.ExecAsync(command, expect);

    private async Task<JsonElement> ShowAsync(string workspace) =>
        JsonDocument.Parse(await ExecAsync($"ws show {workspace} --json")).RootElement;

    [Fact]
    public async Task The_deb_runs_under_systemd_with_scopes_machined_live_limits_restart_terminate_and_reload()
    {
        string deb = Environment.GetEnvironmentVariable("WORKSPACES_DEB") is { Length: > 0 } d && File.Exists(d)
            ? d : throw new InvalidOperationException("WORKSPACES_DEB must name the .deb (tests/run.sh builds it with packaging/build-deb.sh)");
        var guest = await TestGuest.GetAsync();
        await _container!.CopyInAsync(deb, "/root/workspaces.deb");
        foreach (var file in new[] { guest.Kernel, guest.Initrd, guest.Disk })
            await _container!.CopyInAsync(file, "/root/guest/" + Path.GetFileName(file));

        // The container's / is an overlay of this machine's: start from an empty state dir.
        await ExecAsync("rm -rf /var/lib/workspaces /etc/workspaces && dpkg -i /root/workspaces.deb");
        await ExecAsync("systemctl start workspaces");
        Assert.Equal("active", await ExecAsync("systemctl is-active workspaces"));
        Assert.Equal("notify", await ExecAsync("systemctl show -p Type --value workspaces"));
        Assert.Equal("0 running, 0 paused", await ExecAsync("systemctl show -p StatusText --value workspaces"));
        Assert.Contains("enforced by systemd", await ExecAsync("ws host"));

        await ExecAsync($"ws image import guest --kernel /root/guest/vmlinuz --initrd /root/guest/initrd.img --disk /root/guest/disk.qcow2 --cmdline '{guest.Cmdline}'");
        await ExecAsync("ws launch guest web1 --cpu-quota 20 --memory 256");
        // Scopes and machines are host-wide, so named by the workspace's id (names are only per owner).
        string id = (await ShowAsync("web1")).GetProperty("id").GetString()!;
        Assert.Contains($"ws-{id}", await ExecAsync("machinectl list --no-legend"));
        Assert.Equal("vm", await ExecAsync($"machinectl show ws-{id} -p Class --value"));
        Assert.Equal("Workspace web1 of uid 0", await ExecAsync($"systemctl show workspace-{id}.scope -p Description --value"));
        // 20% of a CPU is 200 ms a second; MemoryMax is the guest's 256 MiB + 256 MiB + 256/8 = 32 MiB for QEMU itself:
        // 544 MiB = 570425344 bytes.
        Assert.Equal("CPUQuotaPerSecUSec=200ms\nMemoryMax=570425344", await ExecAsync($"systemctl show workspace-{id}.scope -p CPUQuotaPerSecUSec -p MemoryMax"));

        // Renegotiation, live: systemd's view and ws's agree.
        await ExecAsync("ws set web1 --cpu-quota 50 --memory 200");
        // 50%: 500 ms a second; 200 MiB + 256 MiB + 200/8 = 25 MiB: 481 MiB = 504365056 bytes.
        Assert.Equal("CPUQuotaPerSecUSec=500ms\nMemoryMax=504365056", await ExecAsync($"systemctl show workspace-{id}.scope -p CPUQuotaPerSecUSec -p MemoryMax"));
        var shown = await ShowAsync("web1");
        Assert.Equal((50, 200), (shown.GetProperty("cpuQuotaPercent").GetInt32(), shown.GetProperty("memoryMiB").GetInt32()));

        // Restarting the daemon leaves the guest running, and re-attached.
        int pid = shown.GetProperty("pid").GetInt32();
        await ExecAsync("systemctl restart workspaces");
        var after = await ShowAsync("web1");
        Assert.Equal(("Running", pid), (after.GetProperty("state").GetString(), after.GetProperty("pid").GetInt32()));
        Assert.Contains("running", await ExecAsync("curl -s --unix-socket /run/workspaces/workspaces.sock http://w/v1/workspaces/web1/status"));
        // STATUS= is sent every 5 s: wait for the re-attached guest to be counted (up to 15 s), not a guessed time.
        Assert.Equal("1 running, 0 paused", await ExecAsync(
            "for i in $(seq 75); do [ \"$(systemctl show -p StatusText --value workspaces)\" = '1 running, 0 paused' ] && break; sleep 0.2; done; " +
            "systemctl show -p StatusText --value workspaces"));
        // The daemon pings the watchdog: systemd records when it last heard from it.
        Assert.Equal("30s", await ExecAsync("systemctl show -p WatchdogUSec --value workspaces"));
        Assert.NotEqual("0", await ExecAsync("systemctl show -p WatchdogTimestampMonotonic --value workspaces"));

        // machinectl terminate is noticed and recorded.
        await ExecAsync($"machinectl terminate ws-{id}");
        await ExecAsync("for i in $(seq 50); do ws show web1 | grep -q 'State: *Stopped' && exit 0; sleep 0.2; done; exit 1");
        Assert.Contains("terminated by a signal", (await ShowAsync("web1")).GetProperty("reason").GetString());

        // systemctl reload re-reads the config without a restart.
        string mainPid = await ExecAsync("systemctl show -p MainPID --value workspaces");
        await ExecAsync("sed -i 's/\"maxVcpus\": 8,/\"maxVcpus\": 8, \"capacityCpus\": 3,/' /etc/workspaces/workspacesd.json && systemctl reload workspaces");
        var host = JsonDocument.Parse(await ExecAsync("ws host --json")).RootElement;
        Assert.Equal(12, host.GetProperty("capacityVcpus").GetInt32()); // 3 CPUs x overcommit 4
        Assert.Equal(mainPid, await ExecAsync("systemctl show -p MainPID --value workspaces"));
    }
}
