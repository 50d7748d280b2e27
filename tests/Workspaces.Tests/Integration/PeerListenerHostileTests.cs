using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Bad input on the peer listener, sent raw with curl from a peer's namespace: each is refused with a
/// status (or at the handshake), and the daemon stays up. Two real daemons, shared by the class.
/// </summary>
public sealed class PeerListenerHostileTests : IAsyncLifetime
{
    private PeerHosts _hosts = null!;
    private PeerHosts.Host Target => _hosts[0];
    private PeerHosts.Host Caller => _hosts[1];
    private string CallerCertificate => Path.Combine(Caller.Daemon.StateDir, "keys", "peer-tls.pem");

    public async Task InitializeAsync()
    {
        Prerequisites.Require("curl");
        _hosts = await PeerHosts.StartAsync(2);
        await PeerHosts.JoinAsync(Caller, Target);
    }

    public async Task DisposeAsync() => await _hosts.DisposeAsync();

    /// <summary>curl from the caller's namespace; returns the HTTP status ("000": no HTTP answer) and the body.</summary>
    private async Task<(string Status, string Body)> CurlAsync(string path, bool certificate = true, params string[] extra)
    {
        string body = Path.Combine(Caller.Daemon.Dir, $"body-{Guid.NewGuid():N}");
        string[] cert = certificate ? ["--cert", CallerCertificate] : [];
        var result = await Processes.RunAsync("ip", ["netns", "exec", Caller.Namespace.Name, "curl", "-sk", "--path-as-is", "--max-time", "10",
            .. cert, "-o", body, "-w", "%{http_code}", .. extra, $"https://{Target.Endpoint}{path}"]);
        string text = File.Exists(body) ? await File.ReadAllTextAsync(body) : "";
        File.Delete(body);
        return (result.Stdout.Trim(), text);
    }

    private async Task AssertAliveAsync()
    {
        Assert.NotNull(await Target.Client.GetHostAsync());
        Assert.Equal("200", (await CurlAsync("/v1/peer/host")).Status);
    }

    [Fact]
    public async Task A_tunnel_stream_needs_a_websocket_upgrade_and_an_id_registered_for_the_caller()
    {
        var plain = await CurlAsync("/v1/peer/streams/0123456789abcdef");
        Assert.Equal("400", plain.Status);
        Assert.Contains("WebSocket", plain.Body);
        var unknown = await CurlAsync("/v1/peer/streams/0123456789abcdef", true, "-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
            "-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
        Assert.Equal("404", unknown.Status);
        Assert.Contains("no stream", unknown.Body);
        await AssertAliveAsync();
    }

    [Fact]
    public async Task No_client_certificate_gets_no_answer()
    {
        Assert.Equal("000", (await CurlAsync("/v1/peer/host", certificate: false)).Status);
        await AssertAliveAsync();
    }

    [Fact]
    public async Task Malformed_and_oversized_json_are_refused_with_problems()
    {
        var malformed = await CurlAsync("/v1/peer/join", true, "-X", "POST", "-H", "Content-Type: application/json", "--data", "{\"secret\": ");
        Assert.Equal("400", malformed.Status);
        Assert.Contains("invalid JSON request body", malformed.Body);
        var wrongShape = await CurlAsync("/v1/peer/join", true, "-X", "POST", "-H", "Content-Type: application/json", "--data", "[1,2,3]");
        Assert.Equal("400", wrongShape.Status);
        string big = Path.Combine(Caller.Daemon.Dir, "big.json");
        await File.WriteAllTextAsync(big, "{\"secret\":\"" + new string('a', 2 << 20) + "\"}");
        var oversized = await CurlAsync("/v1/peer/join", true, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + big);
        Assert.Equal("413", oversized.Status);
        await AssertAliveAsync();
    }

    [Fact]
    public async Task Paths_outside_the_peer_api_are_not_served_to_peers()
    {
        foreach (string path in new[] { "/v1/workspaces", "/v1/peers", "/v1/peer/../workspaces", "/v1/peer/%2e%2e/workspaces", "/v1/host", "/" })
        {
            var answer = await CurlAsync(path);
            Assert.True(answer.Status is "404" or "400", $"{path}: {answer.Status} {answer.Body}");
            Assert.DoesNotContain("\"name\"", answer.Body); // nothing of the local API leaks
        }
        // And the peer API is not on the local socket.
        var local = await Target.Daemon.WsAsync("peer", "list"); // the socket works...
        Assert.Equal(0, local.ExitCode);
        var viaSocket = await Processes.RunAsync("curl", ["-s", "--unix-socket", Target.Daemon.Socket, "-o", "/dev/null", "-w", "%{http_code}", "http://x/v1/peer/host"]);
        Assert.Equal("404", viaSocket.Stdout.Trim());
        await AssertAliveAsync();
    }

    [Fact]
    public async Task Plain_http_on_the_peer_port_gets_nothing()
    {
        var result = await Processes.RunAsync("ip", ["netns", "exec", Caller.Namespace.Name, "curl", "-s", "--max-time", "10",
            "-o", "/dev/null", "-w", "%{http_code}", $"http://{Target.Endpoint}/v1/peer/host"]);
        Assert.NotEqual("200", result.Stdout.Trim());
        await AssertAliveAsync();
    }
}
