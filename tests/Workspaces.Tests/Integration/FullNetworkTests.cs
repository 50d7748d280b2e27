using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Issue 16: a whole /24 of running workspaces. Its own collection, run alone: 253 guests, even idle ones,
/// keep both cores of a CI machine busy, and would starve the guests of tests running beside it.
/// </summary>
[Collection(Name)]
public sealed class FullNetworkTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public const string Name = "FullNetwork";

    /// <summary>
    /// The default /24 holds 253 running workspaces. They run a blank disk and no kernel (the firmware finds
    /// nothing to boot and waits, idle): 253 booted Linux guests would not fit two cores, and what is tested
    /// here is the daemon's leases, taps and rules, not the guests.
    /// </summary>
    [Fact]
    public async Task The_default_24_runs_253_workspaces_at_once_and_refuses_the_254th_with_the_reason()
    {
        const int Hosts = 253; // 10.87.0.0/24 less the network, the gateway and the broadcast addresses
        await using var ns = await NetNamespace.CreateAsync("h");
        await using var daemon = await DaemonProcess.StartAsync(new()
        {
            ["policy"] = new Dictionary<string, object> { ["capacityCpus"] = 64, ["capacityMemoryMiB"] = 16384, ["minMemoryMiB"] = 32 },
        }, netns: ns.Name);
        var client = daemon.Client;
        string blank = Path.Combine(daemon.Dir, "blank.qcow2");
        Assert.Equal(0, (await Processes.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", blank, "1M"])).ExitCode);
        await client.ImportLocalImageAsync(new ImageUpload("blank", blank));
        for (int i = 0; i <= Hosts; i++)
            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"r{i:D3}", "blank", MemoryMiB: 32, Network: "default"));

        var clock = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < Hosts;) await client.ActAndWaitAsync($"r{i:D3}", "start");
        }));
        output.WriteLine($"{Hosts} started in {clock.Elapsed.TotalSeconds:0.0} s; daemon RSS {ScaleTests.Rss(daemon.Pid) >> 20} MiB");
        var running = await ScaleTests.ListAllAsync(client, new WorkspaceFilter(State: "running"), 1000);
        Assert.Equal(Hosts, running.Count);
        var addresses = new List<string?>();
        foreach (var w in running) addresses.Add((await client.GetWorkspaceAsync(w.Name)).Nic!.Address); // a listing leaves NICs out
        Assert.DoesNotContain(null, addresses);
        Assert.Equal(Hosts, addresses.Distinct().Count());
        Assert.Equal(Hosts, daemon.QemuPids().Count());

        var full = await Assert.ThrowsAsync<ApiException>(() => client.ActAsync($"r{Hosts:D3}", "start"));
        Assert.Equal(409, full.Status);
        Assert.Contains($"network 'default' (10.87.0.0/24) is full: all {Hosts} of its addresses", full.Message);

        // A stopped one's address goes back to the pool: the 254th takes it.
        string freed = (await client.GetWorkspaceAsync("r100")).Nic!.Address!;
        await client.ActAndWaitAsync("r100", "stop", "force=true");
        await client.ActAndWaitAsync($"r{Hosts:D3}", "start");
        Assert.Equal(freed, (await client.GetWorkspaceAsync($"r{Hosts:D3}")).Nic!.Address);

        next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) <= Hosts;)
                if (i != 100) await client.ActAndWaitAsync($"r{i:D3}", "stop", "force=true");
        }));
        Assert.Empty(await ScaleTests.ListAllAsync(client, new WorkspaceFilter(State: "running"), 1000));
    }
}

[CollectionDefinition(FullNetworkTests.Name, DisableParallelization = true)]
public sealed class FullNetworkCollection;
