using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Named guest CPU models (issue #13 item 6), between two real daemons in their own namespaces. host2 is
/// configured (offeredCpuModels, a test-only narrowing of QEMU's list) to give only "max" and "kvm64", so
/// a workspace on the default model, qemu64, cannot go there: the refusal comes before any byte of its disk
/// moves. A workspace on "max" can. "host" opts a workspace out of moves (and needs KVM to start).
/// A booted workspace's QEMU really runs with the recorded model.
/// </summary>
public sealed class CpuModelTests(CpuModelTests.Hosts hosts) : IClassFixture<CpuModelTests.Hosts>
{
    public sealed class Hosts : IAsyncLifetime
    {
        public PeerHosts Peers { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Peers = await PeerHosts.StartAsync(2, perHost: i => i == 2
                ? new PeerHosts.HostOptions(new Dictionary<string, object> { ["offeredCpuModels"] = new[] { "max", "kvm64" } })
                : null);
            try
            {
                await Peers.JoinAllAsync();
                await GuestImages.ImportAsync(Peers[0].Client);
            }
            catch
            {
                await Peers.DisposeAsync();
                throw;
            }
        }

        public async Task DisposeAsync()
        {
            if (Peers is not null) await Peers.DisposeAsync();
        }
    }

    private PeerHosts.Host Source => hosts.Peers[0];
    private PeerHosts.Host Destination => hosts.Peers[1];

    [Fact]
    public async Task A_destination_without_the_workspaces_cpu_model_refuses_the_move_before_any_byte_of_its_disk_moves()
    {
        var created = await Source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("plain", "guest", 1, 128));
        Assert.Equal("qemu64", created.CpuModel); // the configured default

        long before = await PeerHosts.ReceivedBytesAsync(Destination);
        var e = await Assert.ThrowsAsync<ApiException>(() => Source.Client.MoveAsync("plain", new MoveRequest("host2")));
        long received = await PeerHosts.ReceivedBytesAsync(Destination) - before;
        Assert.Equal(403, e.Status);
        Assert.Contains("cannot give CPU model 'qemu64' (it gives: max, kvm64)", e.Message);
        // The ticket and the TLS exchange are a few KiB; the guest's disk is megabytes. Nothing of it went.
        Assert.True(received < 256 * 1024, $"host2 received {received} bytes");
        Assert.Equal("Defined", (await Source.Client.GetWorkspaceAsync("plain")).State);
        Assert.DoesNotContain(await Destination.Client.ListWorkspacesAsync(), w => w.Name == "plain");

        // What a person sees on the source's `ws move`.
        var cli = await Source.Daemon.WsAsync("move", "plain", "host2");
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("cannot give CPU model 'qemu64'", cli.Stderr);
    }

    [Fact]
    public async Task A_workspace_on_a_model_the_destination_gives_moves_and_keeps_its_model_there()
    {
        var created = await Source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("maxed", "guest", 1, 128, CpuModel: "max"));
        Assert.Equal("max", created.CpuModel);

        var moved = await Source.Client.MoveAsync("maxed", new MoveRequest("host2"));

        Assert.Equal("Confirm", moved.Phase);
        var there = await Destination.Client.GetWorkspaceAsync("maxed");
        Assert.Equal((created.Id, "max"), (there.Id, there.CpuModel));
    }

    [Fact]
    public async Task The_host_cpu_opts_out_of_moves_and_needs_kvm_and_an_unknown_model_is_refused_at_create()
    {
        var host = await Source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("pinned", "guest", 1, 128, CpuModel: "host"));
        Assert.Equal("host", host.CpuModel);
        var move = await Assert.ThrowsAsync<ApiException>(() => Source.Client.MoveAsync("pinned", new MoveRequest("host2")));
        Assert.Equal(409, move.Status);
        Assert.Contains("opted out of moves", move.Message);
        // These tests run under TCG: QEMU's "host" CPU needs KVM, said before QEMU is launched.
        var start = await Assert.ThrowsAsync<ApiException>(() => Source.Client.ActAndWaitAsync("pinned", "start"));
        Assert.Contains("needs KVM", start.Message);

        var unknown = await Assert.ThrowsAsync<ApiException>(() =>
            Source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("odd", "guest", 1, 128, CpuModel: "Pentium-9000")));
        Assert.Equal(400, unknown.Status);
        Assert.Contains("cannot give CPU model 'Pentium-9000'", unknown.Message);
        var cli = await Source.Daemon.WsAsync("create", "guest", "odd", "--cpu", "Pentium-9000");
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("cannot give CPU model 'Pentium-9000'", cli.Stderr);
    }

    [Fact]
    public async Task A_booted_workspace_runs_with_its_recorded_cpu_model_under_tcg()
    {
        var created = await Source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("booted", "guest", 1, 128));
        await Source.Client.ActAndWaitAsync("booted", "start");
        await Source.Daemon.WaitForConsoleAsync("booted", "WORKSPACE-READY boot=1");
        await Source.Daemon.WaitForConsoleAsync("booted", "WORKSPACE-COMMANDS"); // its command port listens only from here

        var running = await Source.Client.GetWorkspaceAsync("booted");
        string[] args = File.ReadAllText($"/proc/{running.Pid}/cmdline").Split('\0');
        Assert.Equal("qemu64", args[Array.IndexOf(args, "-cpu") + 1]);
        Assert.Contains(created.Id, string.Join(' ', args));
        // The guest sees the model it was given.
        Assert.Contains("QEMU Virtual CPU", await GuestShell.RunAsync(Source.Daemon, "booted", "grep -m1 'model name' /proc/cpuinfo"));
        await Source.Client.ActAndWaitAsync("booted", "stop");
    }
}
