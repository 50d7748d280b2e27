using System.Net;
using System.Security.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Operations;

namespace Workspaces.Tests.Unit.Federation;

/// <summary>The piece scheduler against in-process peers that serve ranges of a blob, honestly, corruptly or not at all.</summary>
public sealed class PieceSchedulerTests : IDisposable
{
    private const int PieceSize = 64 << 10;
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("ws-pieces-");
    private readonly byte[] _blob = RandomNumberGenerator.GetBytes(PieceSize * 20 + 123);
    private readonly PieceList _pieces;
    private readonly ImageStore _store;

    public PieceSchedulerTests()
    {
        _store = new ImageStore(_state.FullName);
        int count = PieceList.CountFor(_blob.Length, PieceSize);
        var hashes = new byte[count * PieceList.DigestSize];
        for (int i = 0; i < count; i++)
        {
            int length = Math.Min(PieceSize, _blob.Length - i * PieceSize);
            SHA256.HashData(_blob.AsSpan(i * PieceSize, length), hashes.AsSpan(i * PieceList.DigestSize));
        }
        _pieces = new PieceList(Convert.ToHexStringLower(SHA256.HashData(_blob)), _blob.Length, PieceSize, hashes);
    }

    public void Dispose() => _state.Delete(recursive: true);

    /// <summary>A peer's blob endpoint: answers ranges of the blob, flipping a byte in each when corrupt, failing every request when broken.</summary>
    private sealed class FakePeer(byte[] blob, bool corrupt = false, bool broken = false) : HttpMessageHandler
    {
        public int Served;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            await Task.Delay(2, ct); // a network's latency: while one peer's requests are in flight, the other's workers take pieces
            if (broken) throw new HttpRequestException("connection refused");
            var range = request.Headers.Range!.Ranges.Single();
            byte[] body = blob.AsSpan((int)range.From!.Value, (int)(range.To!.Value - range.From.Value + 1)).ToArray();
            if (corrupt) body[0] ^= 0xFF;
            Interlocked.Increment(ref Served);
            return new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(body) };
        }
    }

    private (PullSource Source, FakePeer Peer) Peer(string name, bool corrupt = false, bool broken = false)
    {
        var peer = new FakePeer(_blob, corrupt, broken);
        return (new PullSource(name, new HttpClient(peer) { BaseAddress = new Uri("https://peer/") }), peer);
    }

    private async Task<(PullProgress Progress, List<string> Dropped)> RunAsync(params PullSource[] holders)
    {
        var progress = new PullProgress(new Operation("pull", "test", 0));
        progress.Begin(_blob.Length, holders.Select(h => h.Name));
        var dropped = new List<string>();
        using var part = new PartialBlob(_store, _pieces);
        var scheduler = new PieceScheduler(_pieces, part, progress, 3, (peer, why, bad) =>
        {
            lock (dropped) dropped.Add($"{peer.Name} {(bad ? "bad" : "lost")}: {why}");
            progress.Drop(peer.Name, why);
        });
        await scheduler.RunAsync(holders, new bool[_pieces.Count], CancellationToken.None);
        var staged = await part.CompleteAsync(CancellationToken.None);
        Assert.Equal(_pieces.Sha256, staged.Sha256);
        return (progress, dropped);
    }

    [Fact]
    public async Task Two_honest_peers_both_serve_and_the_blob_is_whole()
    {
        var (a, fa) = Peer("a");
        var (b, fb) = Peer("b");
        var (progress, dropped) = await RunAsync(a, b);
        Assert.Empty(dropped);
        Assert.True(fa.Served > 0 && fb.Served > 0, $"a served {fa.Served}, b {fb.Served}");
        Assert.Equal(_pieces.Count, fa.Served + fb.Served);
        Assert.Equal(_blob.Length, progress.Fetched);
    }

    [Fact]
    public async Task A_peer_serving_a_corrupt_piece_is_dropped_and_its_pieces_come_from_the_other()
    {
        var (good, _) = Peer("good");
        var (liar, fl) = Peer("liar", corrupt: true);
        var (progress, dropped) = await RunAsync(liar, good);
        Assert.StartsWith("liar bad: served a corrupt piece", Assert.Single(dropped));
        Assert.True(fl.Served >= 1);
        Assert.Equal(["good"], progress.ByPeer.Keys);
        Assert.Equal(_blob.Length, progress.ByPeer["good"]);
    }

    [Fact]
    public async Task When_no_good_peer_remains_the_blob_fails_naming_each_and_why()
    {
        var (liar, _) = Peer("liar", corrupt: true);
        var (gone, _) = Peer("gone", broken: true);
        var failure = await Assert.ThrowsAsync<WorkspacesException>(() => RunAsync(liar, gone));
        Assert.Equal(502, failure.Status);
        Assert.Contains("no good peer remains", failure.Message);
        Assert.Contains("liar served a corrupt piece", failure.Message);
        Assert.Contains("gone was lost", failure.Message);
        // What did arrive is kept for a resume.
        Assert.True(File.Exists(_store.PartialPath(_pieces.Sha256)));
    }
}
