using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>Negotiated limits are enforced and renegotiable live; admission never overcommits the host.</summary>
public sealed class ResourceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Where the guest's group is: the daemon reports it as the workspace's unit, the kernel as QEMU's cgroup.</summary>
    private static void AssertUnit(HostInfo host, WorkspaceInfo w, ProcessCgroup group)
    {
        // Host-wide, so by id: names are only per owner.
        if (host.Enforcement == "systemd")
        {
            Assert.Equal($"workspace-{w.Id}.scope", w.Unit);
            Assert.EndsWith($"/workspace-{w.Id}.scope", group.Directory);
        }
        else
        {
            Assert.Equal($"cgroup:/workspaces/{w.Id}", w.Unit);
            Assert.EndsWith($"/workspaces/{w.Id}", group.Directory);
        }
    }

    [Fact]
    public async Task Cpu_quota_holds_and_changes_live()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        var host = await client.GetHostAsync();
        Assert.True(host.Enforcement is "cgroup-v1" or "cgroup-v2" or "systemd",
            $"limits cannot be enforced on this machine: {host.EnforcementReason}");
        // The host says how it enforces: through systemd's scopes, or (without systemd) by writing cgroups itself.
        Assert.Contains(host.Enforcement == "systemd" ? "systemd runs the host: each guest gets a transient scope unit" : "workspacesd writes cgroup",
            host.EnforcementReason);
        var image = await GuestImages.ImportAsync(client);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("burn", "guest", Cmdline: image.Cmdline + " workspaces.burn", CpuQuotaPercent: 20));
        await client.ActAndWaitAsync("burn", "start");
        await daemon.WaitForConsoleAsync("burn", "WORKSPACE-BURNING");
        var burn = await client.GetWorkspaceAsync("burn");
        int pid = burn.Pid!.Value;
        var cpu = ProcessCgroup.Of(pid, "cpu");
        AssertUnit(host, burn, cpu);
        // What the guest used: v2 accounts in the cpu group itself; v1 in the cpuacct hierarchy, if the guest has its own
        // group there (the daemon makes one; systemd makes none where cpu and cpuacct are mounted apart, as in
        // tests/systemd/container.sh on this host), else the kernel's count for QEMU's threads (/proc/PID/stat).
        ProcessCgroup? accounting = cpu.Version == 2 ? cpu : ProcessCgroup.Of(pid, "cpuacct") is var a && a.Path == cpu.Path ? a : null;
        long ticksPerSecond = long.Parse((await Processes.MustAsync("getconf", ["CLK_TCK"])).Stdout.Trim());
        Func<long> used = accounting is not null ? () => accounting.CpuUsageNanoseconds : () =>
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields from the 3rd on: utime is the 14th, stime the 15th
            return (long.Parse(fields[11]) + long.Parse(fields[12])) * (1_000_000_000 / ticksPerSecond);
        };

        // 20% of one CPU: 20 ms in every 100 ms period (the CFS default period, systemd's too).
        Assert.Equal((20_000L, 100_000L), cpu.CpuQuota);
        var at20 = await CpuShareAsync(used, cpu);
        output.WriteLine($"quota 20%: the guest used {at20.Used:0.0}% of a CPU over 10 s, throttled in {at20.Throttled:P0} of the periods ({host.Enforcement}, {cpu.Directory}, counted by {accounting?.Directory ?? $"/proc/{pid}/stat"})");
        AssertShare(at20, 20);

        var changed = await client.SetResourcesAsync("burn", new SetResourcesRequest(CpuQuotaPercent: 50));
        Assert.Equal(50, changed.CpuQuotaPercent);
        Assert.Equal((50_000L, 100_000L), cpu.CpuQuota); // in the kernel before the answer
        var at50 = await CpuShareAsync(used, cpu);
        output.WriteLine($"quota 50%: the guest used {at50.Used:0.0}% of a CPU over 10 s, throttled in {at50.Throttled:P0} of the periods");
        AssertShare(at50, 50);

        await client.ActAndWaitAsync("burn", "stop", "force=true");
        // Written directly, the daemon removes the group before the stop ends; systemd removes an emptied scope's on its own.
        await Wait.UntilAsync(() => !Directory.Exists(cpu.Directory) && (accounting is null || !Directory.Exists(accounting.Directory)), TimeSpan.FromSeconds(10),
            $"the workspace's cgroup {cpu.Directory} going with its guest");
    }

    [Fact]
    public async Task A_guest_killed_at_its_memory_limit_is_recorded_as_out_of_memory_and_too_little_memory_is_refused()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        var host = await client.GetHostAsync();
        Assert.True(host.Enforcement is "cgroup-v1" or "cgroup-v2" or "systemd", $"limits cannot be enforced on this machine: {host.EnforcementReason}");
        await GuestImages.ImportAsync(client);

        // Below the host's floor (policy.minMemoryMiB, 96 by default) a spec is refused, not run to its death.
        var small = await Assert.ThrowsAsync<ApiException>(() => client.CreateWorkspaceAsync(new CreateWorkspaceRequest("tiny", "guest", MemoryMiB: 64)));
        Assert.Equal(400, small.Status);
        Assert.Contains("between 96 (this host's policy.minMemoryMiB)", small.Message);

        string name = "oom";
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "guest", MemoryMiB: 128));
        await client.ActAndWaitAsync(name, "start");
        await daemon.WaitForConsoleAsync(name, "WORKSPACE-COMMANDS");
        var w = await client.GetWorkspaceAsync(name);
        var group = ProcessCgroup.Of(w.Pid!.Value, "memory");
        AssertUnit(host, w, group);
        // 128 MiB of guest memory + 256 MiB + 128/8 = 16 MiB for QEMU itself: 400 MiB = 419430400 bytes.
        Assert.Equal(419_430_400L, group.MemoryLimit);

        // The fault: the kernel's limit tightened to just above QEMU's anonymous memory now (file pages can be
        // reclaimed, anonymous ones cannot), then the guest fills 40 MiB of its RAM.
        long anonymous = File.ReadLines(Path.Combine(group.Directory, "memory.stat")).Select(l => l.Split(' '))
            .Where(f => f[0] == (group.Version == 2 ? "anon" : "rss")).Select(f => long.Parse(f[1])).First();
        File.WriteAllText(Path.Combine(group.Directory, group.Version == 2 ? "memory.max" : "memory.limit_in_bytes"), (anonymous + (4 << 20)).ToString());
        try { await GuestShell.RunAsync(daemon, name, "dd if=/dev/zero of=/run/fill bs=1M count=40", TimeSpan.FromSeconds(60)); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException) { } // the command port went with QEMU
        catch (TimeoutException) { }

        await Wait.UntilAsync(async () => (w = await client.GetWorkspaceAsync(name)).State == WorkspaceStates.Failed,
            TimeSpan.FromSeconds(60), "the OOM-killed guest being recorded as failed");
        // Under systemd this fails today (seen in tests/systemd/container.sh): SystemdResourceController.OutOfMemoryKills
        // always returns null, so the reason is "QEMU (pid N) exited unexpectedly, without a shutdown".
        Assert.Equal("out of memory: the kernel killed QEMU at the workspace's memory limit (400 MiB for 128 MiB of guest memory); give it more memory", w.Reason);
        await Wait.UntilAsync(() => !Directory.Exists(group.Directory), TimeSpan.FromSeconds(10), "the memory group going with its guest");
        await client.DeleteWorkspaceAsync(name);
    }

    /// <summary>
    /// Over 10 s of wall time: the CPU the guest used (nanoseconds, as counted by used) in percent of one CPU, and the
    /// share of the CFS periods in which its quota ran out. On a busy machine a guest may get less than its quota,
    /// but only in periods where it was not throttled: in each period it was, it had had its whole quota.
    /// </summary>
    private static async Task<(double Used, double Throttled)> CpuShareAsync(Func<long> used, ProcessCgroup cpu)
    {
        long usedBefore = used();
        var periodsBefore = cpu.CpuPeriods;
        var clock = Stopwatch.StartNew();
        await Task.Delay(10_000); // the measurement's window, not a wait for something to happen
        double percent = (used() - usedBefore) / (clock.Elapsed.TotalMilliseconds * 1e6) * 100;
        var periods = cpu.CpuPeriods;
        return (percent, (double)(periods.Throttled - periodsBefore.Throttled) / Math.Max(1, periods.Periods - periodsBefore.Periods));
    }

    /// <summary>At most the quota (and a margin); at least the quota in every period the kernel throttled the guest.</summary>
    private static void AssertShare((double Used, double Throttled) share, int quota)
    {
        Assert.InRange(share.Used, 0, quota + 5);
        Assert.True(share.Used >= share.Throttled * quota - 5,
            $"the guest used {share.Used:0.0}% of a CPU though its quota of {quota}% ran out in {share.Throttled:P0} of the periods");
    }

    [Fact]
    public async Task Over_the_limit_gets_a_counter_offer_and_accepting_it_launches()
    {
        await using var daemon = await DaemonProcess.StartAsync(new()
        {
            ["policy"] = new Dictionary<string, object>
            {
                ["maxVcpus"] = 2, ["maxMemoryMiB"] = 384, ["capacityCpus"] = 4, ["cpuOvercommit"] = 1, ["capacityMemoryMiB"] = 512,
            },
        });
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        var host = await client.GetHostAsync();
        Assert.Equal((4, 512), (host.CapacityVcpus, host.CapacityMemoryMiB));
        // Renegotiation below is checked in the kernel's memory limit: that needs limits enforced.
        Assert.True(host.Enforcement is "cgroup-v1" or "cgroup-v2" or "systemd", $"limits cannot be enforced on this machine: {host.EnforcementReason}");

        // Over the policy's maximum: 409 with the shape that can be had, and nothing created.
        var refused = await Assert.ThrowsAsync<ApiException>(() =>
            client.CreateWorkspaceAsync(new CreateWorkspaceRequest("big", "guest", Vcpus: 4, MemoryMiB: 1024)));
        Assert.Equal(409, refused.Status);
        Assert.Equal(new WorkspaceShape(2, 384), refused.Problem.Offer);
        Assert.Empty(await client.ListWorkspacesAsync());
        var big = await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("big", "guest", Vcpus: 4, MemoryMiB: 1024, AcceptOffer: true));
        Assert.Equal((2, 384), (big.Vcpus, big.MemoryMiB));
        await client.ActAndWaitAsync("big", "start");

        // Over what is free: the start is refused with what is left; accepting it launches with that.
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("second", "guest", Vcpus: 1, MemoryMiB: 256));
        var full = await Assert.ThrowsAsync<ApiException>(() => client.ActAsync("second", "start"));
        Assert.Equal(409, full.Status);
        Assert.Equal(new WorkspaceShape(1, 128), full.Problem.Offer);
        Assert.Equal(WorkspaceStates.Defined, (await client.GetWorkspaceAsync("second")).State);
        await client.ActAndWaitAsync("second", "start", "acceptOffer=true");
        var second = await client.GetWorkspaceAsync("second");
        Assert.Equal((WorkspaceStates.Running, 128), (second.State, second.MemoryMiB));
        await daemon.WaitForConsoleAsync("second", "WORKSPACE-READY");

        // The host is full, never overcommitted: a third gets no offer at all.
        host = await client.GetHostAsync();
        Assert.Equal((3, 512), (host.CommittedVcpus, host.CommittedMemoryMiB));
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("third", "guest", MemoryMiB: 96));
        var none = await Assert.ThrowsAsync<ApiException>(() => client.ActAsync("third", "start", "acceptOffer=true"));
        Assert.Equal(409, none.Status);
        Assert.Null(none.Problem.Offer);
        Assert.Contains("too little for any workspace", none.Message);

        // Renegotiating big down, live, frees room for the third.
        await daemon.WaitForConsoleAsync("big", "WORKSPACE-READY");
        var bigMemory = ProcessCgroup.Of((await client.GetWorkspaceAsync("big")).Pid!.Value, "memory");
        // Booted with 384 MiB: 384 + 256 + 384/8 = 48 MiB for QEMU itself: 688 MiB = 721420288 bytes.
        Assert.Equal(721_420_288L, bigMemory.MemoryLimit);
        var shrunk = await client.SetResourcesAsync("big", new SetResourcesRequest(MemoryMiB: 256));
        Assert.Equal(256, shrunk.MemoryMiB);
        // 256 MiB: 256 + 256 + 256/8 = 32 MiB for QEMU itself: 544 MiB = 570425344 bytes, in the kernel before the answer.
        Assert.Equal(570_425_344L, bigMemory.MemoryLimit);
        var grow = await Assert.ThrowsAsync<ApiException>(() => client.SetResourcesAsync("big", new SetResourcesRequest(MemoryMiB: 512)));
        Assert.Equal(409, grow.Status); // over the policy's 384
        await client.ActAndWaitAsync("third", "start");
        host = await client.GetHostAsync();
        Assert.True(host.CommittedMemoryMiB <= host.CapacityMemoryMiB);
        foreach (var name in new[] { "big", "second", "third" }) await client.DeleteWorkspaceAsync(name, force: true);
    }
}
