using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// What a hostile local caller sends: huge, malformed, stalled or crafted requests, and more
/// connections than is fair. Each gets a 4xx (or a 503 for the fair-share cap) that says why, the
/// daemon's memory stays where it was, and it keeps answering everyone else.
/// </summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private DaemonProcess _daemon = null!;
    private RawHttp _raw = null!;

    public async Task InitializeAsync()
    {
        _daemon = await DaemonProcess.StartAsync(new() { ["allowUsers"] = true, ["maxConnectionsPerUser"] = 3 });
        File.SetUnixFileMode(_daemon.Dir, (UnixFileMode)Convert.ToInt32("755", 8));
        _raw = new RawHttp(_daemon.Socket);
        await GuestImages.ImportAsync(_daemon.Client);
    }

    public async Task DisposeAsync()
    {
        _raw.Dispose();
        await _daemon.DisposeAsync();
    }

    private static void AssertProblem(RawHttp.Answer answer, int status, string mention)
    {
        Assert.True(answer.Status == status, $"expected {status}, got {answer.Status}: {answer.Body[..Math.Min(300, answer.Body.Length)]}");
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Contains(mention, answer.Detail, StringComparison.OrdinalIgnoreCase);
    }

    private long RssKiB() =>
        long.Parse(File.ReadLines($"/proc/{_daemon.Pid}/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    [Fact]
    public async Task A_huge_body_is_413_without_echo_and_memory_returns()
    {
        for (int i = 0; i < 3; i++) await _daemon.Client.ListWorkspacesAsync(); // warm: first requests allocate for good
        long before = RssKiB();
        string name = new('a', 64 << 20);
        for (int i = 0; i < 3; i++)
        {
            var answer = await RawHttp.SendBodyAsync(_daemon.Socket, "POST", "/v1/workspaces", "application/json",
                Encoding.ASCII.GetBytes($"{{\"name\":\"{name}\",\"image\":\"guest\"}}"));
            AssertProblem(answer, 413, "larger than the API accepts");
        }
        // Under the cap, a long name is refused by name, and quoted cut short, not echoed whole.
        var named = await _raw.PostJsonAsync("v1/workspaces", $"{{\"name\":\"{new string('b', 500_000)}\",\"image\":\"guest\"}}");
        AssertProblem(named, 400, "(500000 characters)");
        Assert.True(named.Body.Length < 1000, $"the problem echoed {named.Body.Length} bytes");
        Assert.True(RssKiB() <= before * 1.10, $"RSS went from {before} KiB to {RssKiB()} KiB");
        Assert.Empty(await _daemon.Client.ListWorkspacesAsync());
    }

    [Theory]
    [InlineData("arnl\n", "invalid workspace name 'arnl\\u000a'")]
    [InlineData("tab\there", "invalid workspace name")]
    public async Task Names_are_exact_a_final_newline_is_refused(string name, string mention)
    {
        var answer = await _raw.PostJsonAsync("v1/workspaces", System.Text.Json.JsonSerializer.Serialize(new { name, image = "guest" }));
        AssertProblem(answer, 400, mention);
        var network = await _raw.PostJsonAsync("v1/networks", System.Text.Json.JsonSerializer.Serialize(new { name = "arq\n", subnet = "10.99.0.0/24" }));
        AssertProblem(network, 400, "invalid network name");
        var form = new MultipartFormDataContent { { new StringContent("tg\n"), "name" } };
        form.Add(new ByteArrayContent(new byte[512]), "disk", "d.raw");
        AssertProblem(await _raw.SendAsync(HttpMethod.Post, "v1/images", form), 400, "invalid image name");
        Assert.Single(await _daemon.Client.ListImagesAsync());
    }

    [Theory]
    [InlineData("GET", "/", 404, "no endpoint answers GET '/'")]
    [InlineData("PUT", "/v1/workspaces", 404, "no endpoint answers PUT '/v1/workspaces'")]
    [InlineData("POST", "/v1/workspaces/x/0", 404, "unknown action '0'")]
    [InlineData("POST", "/v1/workspaces/x/Start", 404, "unknown action")]
    [InlineData("GET", "/v1/operations/x/wait?timeout=1e308", 400, "timeout must be a number of seconds")]
    [InlineData("GET", "/v1/operations/x/wait?timeout=-5", 400, "timeout must be a number of seconds")]
    [InlineData("GET", "/v1/operations/x/wait?timeout=NaN", 400, "timeout must be a number of seconds")]
    public async Task Unknown_routes_and_out_of_range_parameters_are_4xx(string method, string path, int status, string mention)
    {
        var answer = await RawHttp.SendBodyAsync(_daemon.Socket, method, path, null, []);
        AssertProblem(answer, status, mention);
    }

    [Theory]
    [InlineData("{\"name\":\"t\",\"image\":\"guest\",\"tasksMax\":2147483647}", "tasksMax must be between 16")]
    [InlineData("{\"name\":\"t\",\"image\":\"guest\",\"cmdline\":\"console=ttyS0 CMD\"}", "kernel command line is")]
    [InlineData("{\"name\":\"t\",\"image\":\"guest\",\"cmdline\":\"a\\nb\"}", "printable ASCII on one line")]
    public async Task Specs_the_host_cannot_honour_are_400_before_anything_is_made(string body, string mention)
    {
        var answer = await _raw.PostJsonAsync("v1/workspaces", body.Replace("CMD", new string('x', 100_000)));
        AssertProblem(answer, 400, mention);
        Assert.Empty(await _daemon.Client.ListWorkspacesAsync());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_daemon.StateDir, "workspaces")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(64 << 10)]
    public async Task A_random_or_empty_tar_is_422(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        var answer = await _raw.SendAsync(HttpMethod.Post, "v1/images",
            new ByteArrayContent(bytes) { Headers = { ContentType = new("application/x-tar") } });
        AssertProblem(answer, 422, "the image archive is refused");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_daemon.StateDir, "images", ".staging")));
    }

    [Fact]
    public async Task A_stalled_upload_is_cut_and_others_are_served_meanwhile()
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(_daemon.Socket));
        await s.SendAsync(Encoding.ASCII.GetBytes(
            "POST /v1/images HTTP/1.1\r\nHost: w\r\nContent-Type: application/x-tar\r\nContent-Length: 1073741824\r\n\r\n"));
        await s.SendAsync(new byte[10 << 20]);
        var clock = Stopwatch.StartNew();
        Assert.NotEmpty(await _daemon.Client.ListImagesAsync()); // others are served while it stalls
        // Then silence: the daemon must give up on it (4 KiB/s minimum after a 10 s grace).
        var buffer = new byte[4096];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (await s.ReceiveAsync(buffer, SocketFlags.None, limit.Token) > 0) { }
        }
        catch (SocketException) { } // reset: cut as well
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"the stalled upload held its connection for {clock.Elapsed.TotalSeconds:0} s");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_daemon.StateDir, "images", ".staging")));
    }

    [Fact]
    public async Task One_user_cannot_hold_every_connection()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        var streams = Enumerable.Range(0, 3).Select(_ => user.StartWs(_daemon.Socket, "events")).ToList();
        try
        {
            Processes.Result? refused = null;
            await Wait.UntilAsync(async () =>
            {
                // A stream that lost the race for a slot to one of these probes was refused and exited: start it again.
                for (int i = 0; i < streams.Count; i++)
                    if (streams[i].HasExited) { streams[i].Dispose(); streams[i] = user.StartWs(_daemon.Socket, "events"); }
                return (refused = await user.WsAsync(_daemon.Socket, "list")).ExitCode != 0;
            }, TimeSpan.FromSeconds(30), "a fourth connection of the user being refused");
            Assert.Contains("already has 3 connections open", refused!.Stderr);
            Assert.Single(refused.Stderr.Trim().Split('\n'));
            Assert.Single(await _daemon.Client.ListImagesAsync()); // root is served all along
        }
        finally
        {
            foreach (var p in streams) { p.Kill(); p.Dispose(); }
        }
        await Wait.UntilAsync(async () => (await user.WsAsync(_daemon.Socket, "list")).ExitCode == 0,
            TimeSpan.FromSeconds(30), "the user being served again once its connections closed");
    }

    [Fact]
    public async Task A_create_racing_the_removal_of_its_image_is_201_or_409_never_5xx()
    {
        string raw = Path.Combine(_daemon.Dir, "racer.raw");
        await File.WriteAllBytesAsync(raw, new byte[4 << 20]);
        for (int round = 0; round < 20; round++)
        {
            await _daemon.Client.ImportLocalImageAsync(new ImageUpload("racer", raw, null, null, null, false));
            var created = _raw.PostJsonAsync("v1/workspaces", $"{{\"name\":\"race{round}\",\"image\":\"racer\"}}");
            var removed = _raw.SendAsync(HttpMethod.Delete, "v1/images/racer");
            var (c, r) = ((await created).Status, (await removed).Status);
            // Exactly one side wins: the workspace holds the image, or the image went and no workspace was made.
            Assert.True((c, r) is (201, 409) or (404, 204) or (409, 204), $"round {round}: create {c}, delete {r}");
            if (c == 201)
            {
                await _daemon.Client.DeleteWorkspaceAsync($"race{round}");
                await _daemon.Client.DeleteImageAsync("racer");
            }
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_daemon.StateDir, "workspaces")));
        }
        Assert.Single(await _daemon.Client.ListImagesAsync()); // only the guest
    }
}
