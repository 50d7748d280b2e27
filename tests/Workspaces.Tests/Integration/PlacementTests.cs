using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Placement by image proximity and acting through peers, on three real daemons in their own network
/// namespaces, joined by tokens. host1 alone holds the test guest, and its policy allows at most
/// 256 MiB per workspace; host2 and host3 hold nothing of it. The hosts are shared by the class: each
/// test leaves them so that the others' expectations still hold (only host1 ever holds the guest).
/// </summary>
public sealed class PlacementTests(PlacementTests.Hosts hosts, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PlacementTests.Hosts>
{
    public sealed class Hosts : IAsyncLifetime
    {
        public PeerHosts Peers { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Peers = await PeerHosts.StartAsync(3, perHost: i => i == 1
                ? new PeerHosts.HostOptions(new Dictionary<string, object> { ["policy"] = new Dictionary<string, object> { ["maxMemoryMiB"] = 256 } })
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

    private PeerHosts.Host Host1 => hosts.Peers[0];
    private PeerHosts.Host Host2 => hosts.Peers[1];
    private PeerHosts.Host Host3 => hosts.Peers[2];

    [Fact]
    public async Task Place_ranks_the_host_holding_the_chain_first_and_passes_over_it_when_its_admission_refuses()
    {
        // Asked on a host without the image: the chain (blobs and sizes) comes from the peer that holds it.
        var report = await PlaceAsync(Host2, "guest");
        Assert.Equal("host1", report.Candidates[0].Host);
        Assert.True(report.ChainBytes > 0);
        var first = report.Candidates[0];
        Assert.True(first.Reachable && first.Admits && !first.Local);
        Assert.Equal((report.ChainBytes, "holds 100% of the chain"), (first.HeldBytes, first.Reason));
        foreach (var other in report.Candidates.Skip(1))
        {
            Assert.True(other.Admits, other.Reason);
            Assert.Equal(0, other.HeldBytes);
            Assert.StartsWith("holds none of the chain", other.Reason);
            Assert.True(other.Score < first.Score);
        }
        Assert.Equal(["host1", "host2", "host3"], report.Candidates.Select(c => c.Host).Order());

        // The table people read, asked where the image is.
        var table = await Host1.Daemon.WsAsync("place", "guest");
        output.WriteLine(table.Stdout);
        Assert.True(table.ExitCode == 0, table.Stderr);
        string[] lines = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("RANK", lines[1]);
        Assert.Matches(@"^1\s+host1 \(here\)\s+\d+\s+.* / .*holds 100% of the chain$", lines[2]);

        // More memory than host1's policy grants: it holds everything, and still does not rank first; it says why.
        var big = await PlaceAsync(Host3, "guest", "--memory", "512");
        output.WriteLine((await Host3.Daemon.WsAsync("place", "guest", "--memory", "512")).Stdout);
        Assert.NotEqual("host1", big.Candidates[0].Host);
        Assert.True(big.Candidates[0].Admits);
        var refused = big.Candidates.Single(c => c.Host == "host1");
        Assert.True(refused.Reachable && !refused.Admits);
        Assert.Equal(big.ChainBytes, refused.HeldBytes);
        Assert.StartsWith("admission refuses: ", refused.Reason);
        Assert.Contains("at most 8 vCPUs and 256 MiB per workspace", refused.Reason);
        Assert.Equal(new WorkspaceShape(1, 256), refused.Offer);
        Assert.Equal(3, refused.Rank);
    }

    [Fact]
    public async Task A_peer_that_does_not_answer_is_listed_last_as_unreachable_and_placement_stays_quick()
    {
        await hosts.Peers.SetLinkAsync(Host3, up: false);
        try
        {
            var clock = Stopwatch.StartNew();
            var report = await PlaceAsync(Host1, "guest");
            output.WriteLine($"placement with host3 cut off: {clock.ElapsedMilliseconds} ms");
            var last = report.Candidates[^1];
            Assert.Equal(("host3", false), (last.Host, last.Reachable));
            Assert.StartsWith("unreachable: ", last.Reason);
            Assert.Null(last.Score);
            Assert.Equal("host1", report.Candidates[0].Host);
            // The peer's budget is 2 s, plus the CLI's own start.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"placement took {clock.Elapsed}");

            // Listing everywhere names the peer it could not ask, lists the others, and succeeds.
            var everywhere = await Host1.Daemon.WsAsync("list", "--peers");
            Assert.True(everywhere.ExitCode == 0, everywhere.Stderr);
            Assert.StartsWith("HOST", everywhere.Stdout);
            Assert.Matches(@"^ws: not listed: host3 \(unreachable: .+\)$", everywhere.Stderr.Trim());
        }
        finally
        {
            await hosts.Peers.SetLinkAsync(Host3, up: true);
        }
    }

    [Fact]
    public async Task Launch_anywhere_lands_where_place_said_and_the_guest_gets_ready_there()
    {
        var placed = await PlaceAsync(Host3, "guest");
        string top = placed.Candidates[0].Host;
        var run = await Host3.Daemon.WsAsync("launch", "guest", "anywhere1", "--anywhere");
        output.WriteLine(run.Stdout + run.Stderr);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains($"Placed on {top}: holds 100% of the chain", run.Stdout);
        Assert.Contains($"Launched anywhere1 on {top}", run.Stdout);
        var there = hosts.Peers.Hosts.Single(h => h.Name == top);
        Assert.Equal(WorkspaceStates.Running, (await there.Client.GetWorkspaceAsync("anywhere1")).State);
        foreach (var h in hosts.Peers.Hosts.Where(h => h != there))
            Assert.Equal(404, (await Assert.ThrowsAsync<ApiException>(() => h.Client.GetWorkspaceAsync("anywhere1"))).Status);

        // The console through both legs of the proxy, followed: a proxy that buffered would never return.
        var (file, prefix) = Repo.Cli;
        var console = await Processes.RunAsync(file, [.. prefix, "--socket", Host3.Daemon.Socket, "--peer", top, "console", "anywhere1", "--until", "WORKSPACE-READY"],
            TimeSpan.FromSeconds(120));
        Assert.True(console.ExitCode == 0, console.Stderr);
        Assert.Contains("WORKSPACE-READY", console.Stdout);
        await there.Daemon.WaitForConsoleAsync("anywhere1", "WORKSPACE-READY");

        var list = await Host3.Daemon.WsAsync("--peer", top, "list");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Matches(@"(?m)^anywhere1\s+Running\s+guest\s", list.Stdout);
    }

    [Fact]
    public async Task Commands_run_on_a_peer_through_the_local_daemon()
    {
        // An image that is not the guest (so that placement's expectations hold), uploaded through both legs of the proxy:
        // files named by descriptor cannot cross hosts, so ws --peer streams them.
        string disk = Path.Combine(Path.GetTempPath(), $"scratch-{Guid.NewGuid():N}.raw");
        await File.WriteAllBytesAsync(disk, RandomNumberGenerator(1 << 20));
        try
        {
            var import = await Host1.Daemon.WsAsync("--peer", "host2", "image", "import", "scratch", "--disk", disk);
            Assert.True(import.ExitCode == 0, import.Stderr);
        }
        finally
        {
            File.Delete(disk);
        }
        Assert.Equal("scratch", (await Host2.Client.GetImageAsync("scratch")).Name);
        await Assert.ThrowsAsync<ApiException>(() => Host1.Client.GetImageAsync("scratch"));

        // host2's event stream, followed through the proxy: open (its headers through both legs) before the create it should show.
        using var raw = new RawHttp(Host1.Daemon.Socket);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var events = await raw.OpenAsync("v1/peers/host2/proxy/v1/events", limit.Token);
        var create = await Host1.Daemon.WsAsync("--peer", "host2", "create", "scratch", "remote1");
        Assert.True(create.ExitCode == 0, create.Stderr);
        Assert.Equal(WorkspaceStates.Defined, (await Host2.Client.GetWorkspaceAsync("remote1")).State);
        using (var lines = new StreamReader(events))
        {
            EventInfo? seen = null;
            while (seen is null && await lines.ReadLineAsync(limit.Token) is { } line)
                if (JsonSerializer.Deserialize(line, WorkspacesJson.Default.EventInfo) is { Workspace: "remote1" } e) seen = e;
            Assert.Equal(WorkspaceStates.Defined, seen?.State);
        }

        var list = await Host1.Daemon.WsAsync("--peer", "host2", "list");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Matches(@"(?m)^remote1\s+Defined\s+scratch\s", list.Stdout);
        var show = await Host1.Daemon.WsAsync("--peer", "host2", "show", "remote1");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Matches(@"(?m)^Name:\s+remote1$", show.Stdout);
        Assert.Matches(@"(?m)^State:\s+Defined$", show.Stdout);

        // Everywhere: this host's workspaces and each peer's, with the host they are on.
        var everywhere = await Host1.Daemon.WsAsync("list", "--peers");
        output.WriteLine(everywhere.Stdout + everywhere.Stderr);
        Assert.True(everywhere.ExitCode == 0, everywhere.Stderr);
        Assert.StartsWith("HOST", everywhere.Stdout);
        Assert.Matches(@"(?m)^host2\s+remote1\s+Defined\s", everywhere.Stdout);
        var json = JsonSerializer.Deserialize((await Host1.Daemon.WsAsync("list", "--peers", "--json")).Stdout, WorkspacesJson.Default.HostedWorkspaceArray)!;
        Assert.Contains(json, w => w.Host == "host2" && w.Workspace.Name == "remote1");

        // An image the peer does not hold: the peer pulls it (from host1) first, saying so, and the workspace is made there.
        var pulled = await Host1.Daemon.WsAsync("launch", "guest", "remote2", "--on", "host2");
        output.WriteLine(pulled.Stdout + pulled.Stderr);
        Assert.True(pulled.ExitCode == 0, pulled.Stderr);
        Assert.Contains("Image guest is not here; pulling it from host1", pulled.Stderr);
        Assert.Equal("guest", (await Host2.Client.GetWorkspaceAsync("remote2")).ImageName);
        // Back as it was: the other tests of the class rank host1 as the only holder.
        await Host2.Client.DeleteWorkspaceAsync("remote2", force: true);
        await Host2.Client.DeleteImageAsync("guest");

        // A peer that is not one: one clear line, exit 1.
        var nosuch = await Host1.Daemon.WsAsync("--peer", "nosuch", "list");
        Assert.Equal(1, nosuch.ExitCode);
        Assert.Equal("ws: no peer named 'nosuch' (see `ws peer list`)", nosuch.Stderr.Trim());

        // Peers are not managed through peers, and there are no proxy chains.
        var peers = await Host1.Daemon.WsAsync("--peer", "host2", "peer", "list");
        Assert.Equal(1, peers.ExitCode);
        Assert.Contains("through a peer only /v1/workspaces", peers.Stderr);

        // Paths that are not what they seem, sent as raw bytes (HttpClient would resolve the dots itself).
        foreach (string target in new[]
        {
            "/v1/peers/host2/proxy/v1/workspaces/../../peers",
            "/v1/peers/host2/proxy/v1/workspaces/%2e%2e/%2E%2E/peers",
            "/v1/peers/host2/proxy/v1/workspaces//remote1",
            "/v1/peers/host2/proxy/v1/workspaces/remote1%2f..%2f..",
            "/v1/peers/host2/proxy/v1/workspaces/%01",
        })
        {
            var (status, body) = await RawGetAsync(Host1.Daemon.Socket, target);
            Assert.True(status == 400, $"{target}: {status} {body}");
            Assert.Contains("refused to proxy", body);
        }
        var peerApi = await RawGetAsync(Host1.Daemon.Socket, "/v1/peers/host2/proxy/v1/peer/host");
        Assert.Equal(403, peerApi.Status);
        Assert.Equal(WorkspaceStates.Defined, (await Host2.Client.GetWorkspaceAsync("remote1")).State); // both daemons still answer
        await Host1.Client.GetHostAsync();
    }

    private static byte[] RandomNumberGenerator(int length) => System.Security.Cryptography.RandomNumberGenerator.GetBytes(length);

    private async Task<PlacementReport> PlaceAsync(PeerHosts.Host on, string image, params string[] more)
    {
        var run = await on.Daemon.WsAsync(["place", image, "--json", .. more]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var report = JsonSerializer.Deserialize(run.Stdout, WorkspacesJson.Default.PlacementReport)!;
        foreach (var c in report.Candidates)
            output.WriteLine($"{c.Rank} {c.Host} score={c.Score} held={c.HeldBytes}/{c.ChainBytes} free={c.FreeVcpus}/{c.FreeMemoryMiB} {c.Reason} ({c.Milliseconds} ms)");
        return report;
    }

    /// <summary>A GET written byte for byte on the daemon's socket: the request target goes exactly as given.</summary>
    private static async Task<(int Status, string Body)> RawGetAsync(string socket, string target)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket));
        await s.SendAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: workspaces\r\nConnection: close\r\n\r\n"));
        using var stream = new NetworkStream(s);
        string answer = await new StreamReader(stream).ReadToEndAsync();
        int status = int.Parse(answer.Split(' ', 3)[1]);
        return (status, answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
    }
}
