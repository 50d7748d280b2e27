using System.Text;
using System.Text.Json;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Joining peers: real daemons in their own network namespaces, real TLS 1.3 with client
/// certificates on the peer listener, driven through ws as an operator would.
/// </summary>
public sealed class PeerTests
{
    private static async Task<string> TokenAsync(PeerHosts.Host host, params string[] options)
    {
        var made = await host.Daemon.WsAsync(["peer", "token", .. options]);
        Assert.True(made.ExitCode == 0, made.Stderr);
        return made.Stdout.Trim().Split('\n')[^1]; // the token is alone on the last line
    }

    private static void AssertRefused(Processes.Result result, string why)
    {
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(why, result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n')); // one line, no stack trace
    }

    [Fact]
    public async Task Hosts_joined_by_a_token_list_each_other_with_the_keys_each_shows_itself()
    {
        await using var hosts = await PeerHosts.StartAsync(2);
        var (one, two) = (hosts[0], hosts[1]);

        var added = await two.Daemon.WsAsync("peer", "add", "one", await TokenAsync(one));
        Assert.True(added.ExitCode == 0, added.Stderr);
        Assert.StartsWith($"Added peer one at {one.Endpoint}", added.Stdout);

        var hostOne = await one.Client.GetHostAsync();
        var hostTwo = await two.Client.GetHostAsync();
        var seenByTwo = Assert.Single(await two.Client.ListPeersAsync());
        var seenByOne = Assert.Single(await one.Client.ListPeersAsync());
        Assert.Equal(("one", one.Endpoint, hostOne.TlsFingerprint, hostOne.SigningKey, hostOne.SealingKey, true),
            (seenByTwo.Name, seenByTwo.Address, seenByTwo.Fingerprint, seenByTwo.SigningKey, seenByTwo.SealingKey, seenByTwo.Reachable));
        // The inviting host names the joiner as it calls itself (peers.name), at the address it advertised.
        Assert.Equal(("host2", two.Endpoint, hostTwo.TlsFingerprint, hostTwo.SigningKey, hostTwo.SealingKey, true),
            (seenByOne.Name, seenByOne.Address, seenByOne.Fingerprint, seenByOne.SigningKey, seenByOne.SealingKey, seenByOne.Reachable));
        Assert.NotNull(seenByOne.RoundTripMs);
        Assert.Equal(hostTwo.CapacityVcpus, seenByOne.FreeVcpus); // nothing runs there

        var table = await one.Daemon.WsAsync("peer", "list");
        Assert.Contains("host2", table.Stdout);
        Assert.Contains("reachable", table.Stdout);
        var shown = await one.Daemon.WsAsync("host");
        Assert.Contains($"TLS fingerprint: {hostOne.TlsFingerprint}", shown.Stdout);
    }

    [Fact]
    public async Task A_token_works_once_not_after_it_expires_and_only_with_the_server_it_names()
    {
        await using var hosts = await PeerHosts.StartAsync(3);
        var (one, two, three) = (hosts[0], hosts[1], hosts[2]);

        string token = await TokenAsync(one);
        Assert.Equal(0, (await two.Daemon.WsAsync("peer", "add", "one", token)).ExitCode);
        // host3's certificate is unknown to host1 and no token is open there: refused at the handshake, and said so.
        AssertRefused(await three.Daemon.WsAsync("peer", "add", "one", token), "it has no open join token (this one was used already");
        Assert.DoesNotContain(await one.Client.ListPeersAsync(), p => p.Name == "host3");
        // With another token open, the handshake lets host3 in to redeem, and host1 itself refuses the used one.
        await one.Client.CreatePeerTokenAsync(null);
        AssertRefused(await three.Daemon.WsAsync("peer", "add", "one", token), "peer 'one': the join token was used already: a token works once");

        // Expired: the joiner says so before it dials; the inviting host would refuse it too.
        var shortLived = await one.Client.CreatePeerTokenAsync(TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => DateTimeOffset.UtcNow > shortLived.ExpiresAt.AddSeconds(1), TimeSpan.FromSeconds(5), "the token's expiry");
        AssertRefused(await three.Daemon.WsAsync("peer", "add", "one", shortLived.Token), "expired");

        // A token whose fingerprint is not the server's: the joiner's pin refuses the handshake, and sends no secret.
        var good = await one.Client.CreatePeerTokenAsync(null);
        var json = JsonDocument.Parse(Convert.FromBase64String(good.Token)).RootElement;
        string forged = Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["name"] = json.GetProperty("name").GetString()!,
            ["addresses"] = json.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()!).ToArray(),
            ["fingerprint"] = (await two.Client.GetHostAsync()).TlsFingerprint!,
            ["secret"] = json.GetProperty("secret").GetString()!,
            ["expiresAt"] = json.GetProperty("expiresAt").GetInt64(),
        })));
        AssertRefused(await three.Daemon.WsAsync("peer", "add", "one", forged), "presented a certificate that is not the one the token names");
        // The secret never reached the server: the genuine token still works.
        Assert.Equal(0, (await three.Daemon.WsAsync("peer", "add", "one", good.Token)).ExitCode);

        AssertRefused(await three.Daemon.WsAsync("peer", "add", "x", "not-a-token"), "that is not a peer join token");
        AssertRefused(await three.Daemon.WsAsync("peer", "add", "Bad_Name", good.Token), "invalid peer name");
    }

    [Fact]
    public async Task A_removed_peer_is_told_so_on_its_next_call_and_an_unknown_certificate_fails_the_handshake()
    {
        await using var hosts = await PeerHosts.StartAsync(2);
        var (one, two) = (hosts[0], hosts[1]);
        Prerequisites.Require("curl", "openssl");
        await PeerHosts.JoinAsync(two, one);
        Assert.True((await two.Client.GetPeerAsync("host1")).Reachable);

        // A known peer's certificate opens the peer API (the control), a fresh one does not get past the handshake.
        string known = Path.Combine(two.Daemon.StateDir, "keys", "peer-tls.pem");
        Assert.Equal("200", await CurlAsync(two, one, known));
        string stranger = Path.Combine(two.Daemon.Dir, "stranger.pem");
        await Processes.MustAsync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=stranger", "-keyout", stranger, "-out", stranger + ".crt"]);
        await File.AppendAllTextAsync(stranger, await File.ReadAllTextAsync(stranger + ".crt"));
        Assert.Equal("000", await CurlAsync(two, one, stranger));
        Assert.Equal("000", await CurlAsync(two, one, null));
        await Wait.UntilAsync(() => one.Daemon.Log.Contains("refused a TLS handshake"), TimeSpan.FromSeconds(10), "the refusal in the log");

        var removed = await one.Daemon.WsAsync("peer", "rm", "host2");
        Assert.True(removed.ExitCode == 0, removed.Stderr);
        var after = await two.Client.GetPeerAsync("host1");
        Assert.False(after.Reachable);
        Assert.Contains("this host removed you as a peer", after.Error);
        Assert.Empty(await one.Client.ListPeersAsync());
        AssertRefused(await one.Daemon.WsAsync("peer", "show", "host2"), "no peer named 'host2'");
    }

    [Fact]
    public async Task Hosts_pinned_by_hand_on_both_sides_learn_each_others_keys()
    {
        await using var hosts = await PeerHosts.StartAsync(2);
        var (one, two) = (hosts[0], hosts[1]);
        var hostOne = await one.Client.GetHostAsync();
        var hostTwo = await two.Client.GetHostAsync();

        var first = await one.Daemon.WsAsync("peer", "add", "two", two.Endpoint, "--fingerprint", hostTwo.TlsFingerprint!);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("not reachable yet", first.Stdout); // two does not know one yet: its handshake refuses
        var second = await two.Daemon.WsAsync("peer", "add", "one", one.Endpoint, "--fingerprint", hostOne.TlsFingerprint!);
        Assert.True(second.ExitCode == 0, second.Stderr);

        var seen = await one.Client.GetPeerAsync("two");
        Assert.True(seen.Reachable, seen.Error);
        Assert.Equal((hostTwo.SigningKey, hostTwo.SealingKey), (seen.SigningKey, seen.SealingKey));
        AssertRefused(await one.Daemon.WsAsync("peer", "add", "three", "10.0.0.1:1", "--fingerprint", "SHA256:abc"), "is not a certificate fingerprint");
        AssertRefused(await one.Daemon.WsAsync("peer", "add", "again", two.Endpoint, "--fingerprint", hostTwo.TlsFingerprint!), "is a peer already, as 'two'");
    }

    [Fact]
    public async Task Joins_removals_and_reachability_changes_are_events()
    {
        await using var hosts = await PeerHosts.StartAsync(2);
        var (one, two) = (hosts[0], hosts[1]);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var seen = new List<EventInfo>();
        var following = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in one.Client.StreamEventsAsync(stop.Token))
                    if (e.Type == "peer") lock (seen) seen.Add(e);
            }
            catch (OperationCanceledException) { }
        });
        bool Saw(string state, string peer = "host2") { lock (seen) return seen.Any(e => e.Peer == peer && e.State == state); }

        // The stream is live once it shows an event made after it was opened: pins of a host that refuses
        // connections (this one's own address, a closed port), until one shows.
        await Wait.UntilAsync(async () =>
        {
            string probe = $"probe{Guid.NewGuid():N}"[..12];
            await one.Client.AddPeerAsync(new AddPeerRequest(probe, Address: $"{one.Address}:1", Fingerprint: "SHA256:" + new string('0', 64)));
            await one.Client.RemovePeerAsync(probe);
            lock (seen) return seen.Any(e => e.Peer!.StartsWith("probe", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(20), "a live event stream");
        await PeerHosts.JoinAsync(two, one); // two redeems one's token: one records host2
        await Wait.UntilAsync(() => Saw("joined"), TimeSpan.FromSeconds(10), "a joined event");
        await Wait.UntilAsync(() => Saw("reachable"), TimeSpan.FromSeconds(10), "a reachable event");

        await hosts.SetLinkAsync(two, up: false); // the cable is cut: the next check (every 2 s here) finds it gone
        await Wait.UntilAsync(() => Saw("unreachable"), TimeSpan.FromSeconds(20), "an unreachable event");
        var listed = await one.Daemon.WsAsync("peer", "list");
        Assert.Contains("UNREACHABLE", listed.Stdout);
        await hosts.SetLinkAsync(two, up: true);
        await Wait.UntilAsync(() => { lock (seen) return seen.Count(e => e.Peer == "host2" && e.State == "reachable") == 2; },
            TimeSpan.FromSeconds(20), "a second reachable event");

        Assert.Equal(0, (await one.Daemon.WsAsync("peer", "rm", "host2")).ExitCode);
        await Wait.UntilAsync(() => Saw("removed"), TimeSpan.FromSeconds(10), "a removed event");
        stop.Cancel();
        await following;
    }

    [Fact]
    public async Task Only_admins_manage_peers()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var daemon = await DaemonProcess.StartAsync(new() { ["allowUsers"] = true });
        File.SetUnixFileMode(daemon.Dir, (UnixFileMode)Convert.ToInt32("755", 8));
        foreach (var args in new[] { new[] { "peer", "token" }, ["peer", "list"], ["peer", "add", "x", "10.0.0.1:8743", "--fingerprint", "SHA256:" + new string('a', 64)] })
        {
            var refused = await user.WsAsync(daemon.Socket, args);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("only root and the workspaces group may", refused.Stderr);
        }
    }

    /// <summary>An HTTPS GET of /v1/peer/host from one host's namespace to another's listener; "000" when no HTTP answer came.</summary>
    private static async Task<string> CurlAsync(PeerHosts.Host from, PeerHosts.Host to, string? certificate)
    {
        string[] cert = certificate is null ? [] : ["--cert", certificate];
        var result = await Processes.RunAsync("ip", ["netns", "exec", from.Namespace.Name, "curl", "-sk", "--tlsv1.3", .. cert,
            "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", $"https://{to.Endpoint}/v1/peer/host"]);
        return result.Stdout.Trim();
    }
}
