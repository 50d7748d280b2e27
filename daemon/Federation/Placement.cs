using System.Diagnostics;
using System.Net.Http.Json;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// `ws place`: where should a workspace of this image and shape run? Asks this host and every peer, in
/// parallel and briefly (a slow peer must not make placement slow), whether admission would take the
/// shape and how much of the image's chain each holds; PlacementRanking orders the answers.
/// </summary>
public sealed class Placement(PeerDirectory directory, PeerChannel channel, PlacementAdmission admission, PlacementChain chains)
{
    /// <summary>How long a peer has to answer one placement question before it is listed as unreachable.</summary>
    public static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(2);

    private static WorkspacesJson Json => WorkspacesJson.Default;

    public async Task<PlacementReport> RankAsync(string image, int? vcpus, int? memoryMiB, CancellationToken ct)
    {
        var peers = directory.List();
        var unreachable = new Dictionary<string, string>();
        // The chain's blobs are what a host must hold: known here if the image is here, else from the peers that hold it.
        var chain = chains.Find(image) ?? await FindOnPeersAsync(peers, image, unreachable, ct);
        long chainBytes = chain.Blobs.Sum(b => b.Size);
        string[] hashes = chain.Blobs.Select(b => b.Sha256).ToArray();

        var clock = Stopwatch.StartNew();
        var answer = admission.Judge(vcpus, memoryMiB);
        var held = chains.Held(hashes).ToHashSet();
        var local = new PlacementRanking.Judged(directory.Name, true, answer, chain.Blobs.Where(b => held.Contains(b.Sha256)).Sum(b => b.Size),
            null, clock.Elapsed.TotalMilliseconds);
        var remote = await Task.WhenAll(peers.Select(p => unreachable.TryGetValue(p.Name, out string? why)
            ? Task.FromResult(new PlacementRanking.Judged(p.Name, false, null, 0, why, 0))
            : JudgeAsync(p, chain, hashes, vcpus, memoryMiB, ct)));
        return new PlacementReport(chain.Image, chain.Name, chainBytes, answer.Asked, PlacementRanking.Rank([local, .. remote], chainBytes));
    }

    private async Task<PlacementRanking.Judged> JudgeAsync(PeerRow peer, PeerImageChain chain, string[] hashes, int? vcpus, int? memoryMiB, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var http = channel.For(peer.Address, peer.TlsFingerprint);
        try
        {
            using var timeout = Timeout(ct);
            string query = string.Join('&', new[] { vcpus is { } v ? $"vcpus={v}" : null, memoryMiB is { } m ? $"memoryMiB={m}" : null }.OfType<string>());
            var admissionCall = PeerCall.GetAsync(http, peer.Name, "v1/peer/admission" + (query.Length > 0 ? "?" + query : ""), Json.PeerAdmissionAnswer, timeout.Token);
            var heldCall = PeerCall.PostAsync(http, peer.Name, "v1/peer/blobs/held", new HeldBlobsRequest(hashes),
                Json.HeldBlobsRequest, Json.HeldBlobsAnswer, timeout.Token);
            await Task.WhenAll(admissionCall, heldCall);
            var answer = await admissionCall;
            var held = (await heldCall).Held.ToHashSet();
            return new PlacementRanking.Judged(peer.Name, false, answer, chain.Blobs.Where(b => held.Contains(b.Sha256)).Sum(b => b.Size),
                null, clock.Elapsed.TotalMilliseconds);
        }
        catch (Exception e) when (Unanswered(e, ct) is { } why)
        {
            return new PlacementRanking.Judged(peer.Name, false, null, 0, why, clock.Elapsed.TotalMilliseconds);
        }
    }

    /// <summary>The chain of an image not held here, from the peers that hold it; they must agree on which image the name means.</summary>
    private async Task<PeerImageChain> FindOnPeersAsync(IReadOnlyList<PeerRow> peers, string image, Dictionary<string, string> unreachable, CancellationToken ct)
    {
        var answers = await Task.WhenAll(peers.Select(async p =>
        {
            try
            {
                using var timeout = Timeout(ct);
                using var response = await PeerCall.SendAsync(channel.For(p.Address, p.TlsFingerprint), p.Name,
                    new HttpRequestMessage(HttpMethod.Get, $"v1/peer/images/{Uri.EscapeDataString(image)}/chain"), timeout.Token);
                return (Peer: p.Name, Chain: await response.Content.ReadFromJsonAsync(Json.PeerImageChain, timeout.Token), Why: (string?)null);
            }
            catch (WorkspacesException e) when (e.Status == 404)
            {
                return (Peer: p.Name, Chain: null, Why: null);
            }
            catch (Exception e) when (Unanswered(e, ct) is { } why)
            {
                return (Peer: p.Name, Chain: (PeerImageChain?)null, Why: why);
            }
        }));
        foreach (var a in answers.Where(a => a.Why is not null)) unreachable[a.Peer] = a.Why!;
        var found = answers.Where(a => a.Chain is not null).GroupBy(a => a.Chain!.Image).ToList();
        if (found.Count == 0)
            throw WorkspacesException.NotFound($"no image named or with fingerprint {Names.Quote(image)} here or on any peer that answered"
                + (unreachable.Count > 0 ? $" ({string.Join(", ", unreachable.Keys.Order(StringComparer.Ordinal))} did not)" : ""));
        if (found.Count > 1)
            throw WorkspacesException.Conflict($"{Names.Quote(image)} names different images on different peers ("
                + string.Join("; ", found.Select(g => $"{g.Key[..12]} on {string.Join(", ", g.Select(a => a.Peer))}")) + "): give a fingerprint");
        return found[0].First().Chain!;
    }

    private static CancellationTokenSource Timeout(CancellationToken ct)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(PeerTimeout);
        return timeout;
    }

    /// <summary>Why a peer gave no usable answer, or null for a failure that is the caller's (it went away).</summary>
    private static string? Unanswered(Exception e, CancellationToken ct) => e switch
    {
        OperationCanceledException when !ct.IsCancellationRequested => $"no answer within {PeerTimeout.TotalSeconds:0} s",
        WorkspacesException w => w.Message,
        HttpRequestException or System.Text.Json.JsonException => e.Message,
        _ => null,
    };
}
