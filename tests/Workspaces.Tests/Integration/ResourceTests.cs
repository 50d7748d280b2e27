using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>Negotiated limits are enforced and renegotiable live; admission never overcommits the host.</summary>
public sealed class ResourceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Cpu_quota_holds_and_changes_live()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        var host = await client.GetHostAsync();
        Assert.True(host.Enforcement is "cgroup-v1" or "cgroup-v2" or "systemd",
            $"limits cannot be enforced on this machine: {host.EnforcementReason}");
        // Outside systemd the host says so, and how it enforces instead.
        Assert.Contains("workspacesd writes cgroup", host.EnforcementReason);
        var image = await GuestImages.ImportAsync(client);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("burn", "guest", Cmdline: image.Cmdline + " workspaces.burn", CpuQuotaPercent: 20));
        await client.ActAndWaitAsync("burn", "start");
        await daemon.WaitForConsoleAsync("burn", "WORKSPACE-BURNING");
        var burn = await client.GetWorkspaceAsync("burn");
        Assert.Equal($"cgroup:/workspaces/{burn.Id}", burn.Unit); // host-wide, so by id: names are only per owner

        double at20 = await CpuShareAsync(host.Enforcement!, burn.Id);
        output.WriteLine($"quota 20%: the guest used {at20:0.0}% of a CPU over 10 s ({host.Enforcement})");
        Assert.InRange(at20, 15, 25);

        var changed = await client.SetResourcesAsync("burn", new SetResourcesRequest(CpuQuotaPercent: 50));
        Assert.Equal(50, changed.CpuQuotaPercent);
        double at50 = await CpuShareAsync(host.Enforcement!, burn.Id);
        output.WriteLine($"quota 50%: the guest used {at50:0.0}% of a CPU over 10 s");
        Assert.InRange(at50, 45, 55);

        await client.ActAndWaitAsync("burn", "stop", "force=true");
        Assert.False(Directory.Exists(CpuAccountingDir(host.Enforcement!, burn.Id)), "the workspace's cgroup must go with its guest");
    }

    [Fact]
    public async Task A_guest_killed_at_its_memory_limit_is_recorded_as_out_of_memory_and_too_little_memory_is_refused()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        var host = await client.GetHostAsync();
        Assert.True(host.Enforcement is "cgroup-v1" or "cgroup-v2", $"this test reads the workspace's memory group directly; enforcement here is {host.Enforcement}: {host.EnforcementReason}");
        await GuestImages.ImportAsync(client);

        // Below the host's floor (policy.minMemoryMiB, 96 by default) a spec is refused, not run to its death.
        var small = await Assert.ThrowsAsync<ApiException>(() => client.CreateWorkspaceAsync(new CreateWorkspaceRequest("tiny", "guest", MemoryMiB: 64)));
        Assert.Equal(400, small.Status);
        Assert.Contains("between 96 (this host's policy.minMemoryMiB)", small.Message);

        string name = "oom";
        string id = (await client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "guest", MemoryMiB: 128))).Id; // groups are named by id
        await client.ActAndWaitAsync(name, "start");
        await daemon.WaitForConsoleAsync(name, "WORKSPACE-COMMANDS");

        // The fault: the kernel's limit tightened to just above QEMU's anonymous memory now (file pages can be
        // reclaimed, anonymous ones cannot), then the guest fills 40 MiB of its RAM.
        bool v2 = host.Enforcement == "cgroup-v2";
        string group = v2 ? $"/sys/fs/cgroup/workspaces/{id}" : $"/sys/fs/cgroup/memory/workspaces/{id}";
        long anonymous = File.ReadLines(Path.Combine(group, "memory.stat")).Select(l => l.Split(' '))
            .Where(f => f[0] == (v2 ? "anon" : "rss")).Select(f => long.Parse(f[1])).First();
        File.WriteAllText(Path.Combine(group, v2 ? "memory.max" : "memory.limit_in_bytes"), (anonymous + (4 << 20)).ToString());
        try { await GuestShell.RunAsync(daemon, name, "dd if=/dev/zero of=/run/fill bs=1M count=40", TimeSpan.FromSeconds(60)); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException) { } // the command port went with QEMU
        catch (TimeoutException) { }

        WorkspaceInfo w = null!;
        await Wait.UntilAsync(async () => (w = await client.GetWorkspaceAsync(name)).State == WorkspaceStates.Failed,
            TimeSpan.FromSeconds(60), "the OOM-killed guest being recorded as failed");
        Assert.StartsWith("out of memory: the kernel killed QEMU at the workspace's memory limit", w.Reason);
        await Wait.UntilAsync(() => !Directory.Exists(group), TimeSpan.FromSeconds(10), "the memory group going with its guest");
        await client.DeleteWorkspaceAsync(name);
    }

    /// <summary>CPU used by the workspace's cgroup over 10 s, in percent of one CPU.</summary>
    private static async Task<double> CpuShareAsync(string mode, string id)
    {
        string dir = CpuAccountingDir(mode, id);
        long Usage() => mode == "cgroup-v2"
            ? long.Parse(File.ReadLines(Path.Combine(dir, "cpu.stat")).First(l => l.StartsWith("usage_usec")).Split(' ')[1]) * 1000
            : long.Parse(File.ReadAllText(Path.Combine(dir, "cpuacct.usage")).Trim());
        await Task.Delay(1000); // let a changed quota take hold for a few periods
        long before = Usage();
        var clock = Stopwatch.StartNew();
        await Task.Delay(10_000);
        return (Usage() - before) / (clock.Elapsed.TotalMilliseconds * 1e6) * 100;
    }

    private static string CpuAccountingDir(string mode, string id) =>
        mode == "cgroup-v2" ? $"/sys/fs/cgroup/workspaces/{id}" : $"/sys/fs/cgroup/cpuacct/workspaces/{id}";

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
        var shrunk = await client.SetResourcesAsync("big", new SetResourcesRequest(MemoryMiB: 256));
        Assert.Equal(256, shrunk.MemoryMiB);
        if (host.Enforcement == "cgroup-v1")
            Assert.Equal(((256L + 256 + 32) << 20).ToString(), File.ReadAllText($"/sys/fs/cgroup/memory/workspaces/{shrunk.Id}/memory.limit_in_bytes").Trim());
        var grow = await Assert.ThrowsAsync<ApiException>(() => client.SetResourcesAsync("big", new SetResourcesRequest(MemoryMiB: 512)));
        Assert.Equal(409, grow.Status); // over the policy's 384
        await client.ActAndWaitAsync("third", "start");
        host = await client.GetHostAsync();
        Assert.True(host.CommittedMemoryMiB <= host.CapacityMemoryMiB);
        foreach (var name in new[] { "big", "second", "third" }) await client.DeleteWorkspaceAsync(name, force: true);
    }
}
