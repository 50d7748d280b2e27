using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// `POST /v1/workspaces/{name}/move` between real daemons in their own network namespaces, joined by
/// tokens: the source signs a ticket, the destination checks it over the pinned mTLS channel, and its
/// refusals (policy, admission with a counter-offer) reach the source's caller before anything moves.
/// host2 allows at most 128 MiB per workspace; host3 requires signed images. Workspaces stay Defined
/// (never booted): nothing here needs a guest to run, only its image and record.
/// </summary>
public sealed class MoveTicketTests(MoveTicketTests.Hosts hosts) : IClassFixture<MoveTicketTests.Hosts>
{
    public sealed class Hosts : IAsyncLifetime
    {
        public PeerHosts Peers { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Peers = await PeerHosts.StartAsync(3, perHost: i => i switch
            {
                2 => new PeerHosts.HostOptions(new Dictionary<string, object> { ["policy"] = new Dictionary<string, object> { ["maxMemoryMiB"] = 128 } }),
                3 => new PeerHosts.HostOptions(new Dictionary<string, object> { ["policy"] = new Dictionary<string, object> { ["requireSignedImages"] = true } }),
                _ => null,
            });
            try
            {
                await Peers.JoinAllAsync();
                await GuestImages.ImportAsync(Peers[0].Client);
                await Peers[0].Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("mover", "guest", 1, 256));
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

    private WorkspacesClient Source => hosts.Peers[0].Client;

    [Fact]
    public async Task The_destinations_counter_offer_reaches_the_caller_of_move()
    {
        var e = await Assert.ThrowsAsync<ApiException>(() => Source.MoveAsync("mover", new MoveRequest("host2")));
        Assert.Equal(409, e.Status);
        Assert.Contains("peer 'host2'", e.Message);
        Assert.Equal(new WorkspaceShape(1, 128), e.Problem.Offer);

        // What a person sees: `ws move` fails and says what the peer would grant.
        var cli = await hosts.Peers[0].Daemon.WsAsync("move", "mover", "host2");
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("peer 'host2'", cli.Stderr);
        Assert.Contains("128 MiB", cli.Stderr);
    }

    [Fact]
    public async Task The_destinations_own_signed_image_policy_refuses_the_move_before_anything_moves()
    {
        long before = await PeerHosts.ReceivedBytesAsync(hosts.Peers[2]);
        var e = await Assert.ThrowsAsync<ApiException>(() => Source.MoveAsync("mover", new MoveRequest("host3")));
        long received = await PeerHosts.ReceivedBytesAsync(hosts.Peers[2]) - before;
        Assert.Equal(403, e.Status);
        Assert.Contains("requireSignedImages", e.Message);
        // The ticket and the TLS exchange are a few KiB; the guest's disk is megabytes. Nothing of it went.
        Assert.True(received < 256 * 1024, $"host3 received {received} bytes");
    }

    [Fact]
    public async Task A_ticket_host2_admits_moves_a_defined_workspace_cold_with_its_id_and_overlay_and_leaves_none_here()
    {
        var created = await Source.CreateWorkspaceAsync(new CreateWorkspaceRequest("small", "guest", 1, 128));
        string overlay = Path.Combine(hosts.Peers[0].Daemon.StateDir, "workspaces", created.Id, "disk.qcow2");
        byte[] before = await File.ReadAllBytesAsync(overlay);

        var moved = await Source.MoveAsync("small", new MoveRequest("host2"));

        Assert.Equal("Confirm", moved.Phase);
        Assert.DoesNotContain(await Source.ListWorkspacesAsync(), w => w.Name == "small");
        Assert.False(Directory.Exists(Path.GetDirectoryName(overlay)));
        var there = Assert.Single(await hosts.Peers[1].Client.ListWorkspacesAsync(), w => w.Name == "small");
        Assert.Equal((created.Id, 128), (there.Id, there.MemoryMiB));
        string arrived = Path.Combine(hosts.Peers[1].Daemon.StateDir, "workspaces", created.Id, "disk.qcow2");
        Assert.Equal(before, await File.ReadAllBytesAsync(arrived));
    }

    [Fact]
    public async Task Modes_are_checked_against_the_workspaces_state()
    {
        var live = await Assert.ThrowsAsync<ApiException>(() => Source.MoveAsync("mover", new MoveRequest("host2", "live")));
        Assert.Equal(409, live.Status);
        Assert.Contains("a live move needs it running or paused", live.Message);
        var stateful = await Assert.ThrowsAsync<ApiException>(() => Source.MoveAsync("mover", new MoveRequest("host2", "stateful")));
        Assert.Equal(409, stateful.Status);
        Assert.Contains("needs it running or paused", stateful.Message);
        var unknown = await Assert.ThrowsAsync<ApiException>(() => Source.MoveAsync("mover", new MoveRequest("nobody")));
        Assert.Equal(404, unknown.Status);
        var bad = await Assert.ThrowsAsync<ApiException>(() => Source.MoveAsync("mover", new MoveRequest("host2", "teleport")));
        Assert.Equal(400, bad.Status);
    }
}
