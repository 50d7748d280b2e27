using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Testing;
using Xunit.Abstractions;

namespace Workspaces.Tests.Integration.Live;

/// <summary>The tunnel: a local Unix socket on the source, through pinned mTLS, to a registered Unix socket on the destination.</summary>
public sealed class TunnelTests(ITestOutputHelper output)
{
    private const long Size = 512L << 20;

    [Fact]
    public async Task Bytes_cross_the_tunnel_intact_both_ways_and_as_fast_as_measured()
    {
        await using var peer = await LoopbackPeer.StartAsync();
        string dir = Directory.CreateTempSubdirectory("ws-tunnel-").FullName;
        try
        {
            // The destination's "QEMU": a Unix listener that hashes what it receives and answers with the hash.
            string target = Path.Combine(dir, "target.sock");
            using var listener = Listen(target);
            var served = ServeHashAsync(listener);
            string id = peer.Streams.Register(target, peer.Source.Fingerprint, TimeSpan.FromMinutes(1));
            await using var tunnel = PeerTunnel.Open(peer.Channel, peer.Address, peer.Destination.Fingerprint, id, Path.Combine(dir, "out.sock"));

            var (sent, answer, seconds) = await SendAsync(Path.Combine(dir, "out.sock"));
            Assert.Equal(sent, answer);
            await served;
            await tunnel.Completion.WaitAsync(TimeSpan.FromSeconds(10));

            // The same copy over a plain Unix socket, for the ratio.
            string raw = Path.Combine(dir, "raw.sock");
            using var rawListener = Listen(raw);
            var rawServed = ServeHashAsync(rawListener);
            var (_, _, rawSeconds) = await SendAsync(raw);
            await rawServed;
            output.WriteLine($"tunnel: {Size / seconds / (1 << 20):0} MiB/s; raw Unix socket: {Size / rawSeconds / (1 << 20):0} MiB/s; ratio {seconds / rawSeconds:0.0}x");

            // The id was used up: a second connection for it is refused.
            var refused = await Assert.ThrowsAsync<WorkspacesException>(() => peer.Streams.OpenAsync(id, peer.Source.Fingerprint, CancellationToken.None));
            Assert.Equal(404, refused.Status);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_stream_opens_only_for_the_peer_it_was_registered_for()
    {
        await using var peer = await LoopbackPeer.StartAsync();
        string id = peer.Streams.Register("/nonexistent.sock", peer.Source.Fingerprint, TimeSpan.FromMinutes(1));
        var other = await Assert.ThrowsAsync<WorkspacesException>(() => peer.Streams.OpenAsync(id, peer.Destination.Fingerprint, CancellationToken.None));
        Assert.Equal(403, other.Status);
        var unknown = await Assert.ThrowsAsync<WorkspacesException>(() => peer.Streams.OpenAsync("nope", peer.Source.Fingerprint, CancellationToken.None));
        Assert.Equal(404, unknown.Status);
        string expired = peer.Streams.Register("/nonexistent.sock", peer.Source.Fingerprint, TimeSpan.FromSeconds(-1));
        Assert.Equal(404, (await Assert.ThrowsAsync<WorkspacesException>(() => peer.Streams.OpenAsync(expired, peer.Source.Fingerprint, CancellationToken.None))).Status);
    }

    [Fact]
    public async Task A_tunnel_to_an_unpinned_certificate_never_connects()
    {
        await using var peer = await LoopbackPeer.StartAsync();
        string dir = Directory.CreateTempSubdirectory("ws-tunnel-").FullName;
        try
        {
            string id = peer.Streams.Register("/nonexistent.sock", peer.Source.Fingerprint, TimeSpan.FromMinutes(1));
            string wrongPin = new string('0', peer.Destination.Fingerprint.Length);
            await using var tunnel = PeerTunnel.Open(peer.Channel, peer.Address, wrongPin, id, Path.Combine(dir, "out.sock"));
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(dir, "out.sock")));
            await Assert.ThrowsAnyAsync<Exception>(() => tunnel.Completion.WaitAsync(TimeSpan.FromSeconds(20)));
            // The id was never taken: the handshake failed before any request.
            Assert.Equal(403, (await Assert.ThrowsAsync<WorkspacesException>(() => peer.Streams.OpenAsync(id, peer.Destination.Fingerprint, CancellationToken.None))).Status);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Socket Listen(string path)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        return listener;
    }

    private static async Task ServeHashAsync(Socket listener)
    {
        using var connection = await listener.AcceptAsync();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = await connection.ReceiveAsync(buffer)) > 0) hash.AppendData(buffer, 0, n);
        await connection.SendAsync(hash.GetHashAndReset());
        connection.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Sends Size pseudo-random bytes, half-closes, and reads the far end's hash of them.</summary>
    private static async Task<(string Sent, string Answer, double Seconds)> SendAsync(string path)
    {
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var block = new byte[1 << 20];
        new Random(13).NextBytes(block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var clock = Stopwatch.StartNew();
        for (long sent = 0; sent < Size; sent += block.Length)
        {
            block[0] = (byte)(sent >> 20); // every block differs, so a repeated or dropped block changes the hash
            hash.AppendData(block);
            for (int off = 0; off < block.Length;) off += await client.SendAsync(block.AsMemory(off));
        }
        client.Shutdown(SocketShutdown.Send);
        var answer = new byte[32];
        for (int got = 0; got < 32;)
        {
            int n = await client.ReceiveAsync(answer.AsMemory(got));
            if (n == 0) throw new IOException("the far end closed before answering");
            got += n;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return (Convert.ToHexString(hash.GetHashAndReset()), Convert.ToHexString(answer), seconds);
    }
}
