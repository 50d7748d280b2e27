using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// Fills one partial blob from every peer that holds it at once: the missing pieces wait in one
/// queue, each peer has requestsPerPeer workers taking from it (a fast peer serves more pieces, a slow
/// one fewer, as Kraken's scheduler does), and every piece is checked against the piece list before
/// it is written. A peer that sends a wrong piece, or fails, is dropped for the rest of the pull and
/// its piece goes back to the queue for the others; when no peer is left, the blob fails.
/// </summary>
public sealed class PieceScheduler(PieceList pieces, PartialBlob part, PullProgress progress, int requestsPerPeer,
    Action<PullSource, string, bool> drop)
{
    /// <summary>A piece that takes longer than this is a stalled connection (a cut cable), not a slow link.</summary>
    private static readonly TimeSpan PieceTimeout = TimeSpan.FromSeconds(60);

    private readonly Channel<int> _queue = Channel.CreateUnbounded<int>();
    private int _remaining;

    /// <summary>Fetches every piece not marked done; returns when all are written, throws when no peer can serve the rest.</summary>
    public async Task RunAsync(IReadOnlyList<PullSource> holders, bool[] done, CancellationToken ct)
    {
        for (int i = 0; i < done.Length; i++)
            if (!done[i]) _queue.Writer.TryWrite(i);
        _remaining = done.Count(d => !d);
        if (_remaining == 0) return;
        await Task.WhenAll(holders.Where(h => !progress.IsDropped(h.Name)).Select(h => ServeAsync(h, ct)));
        ct.ThrowIfCancellationRequested();
        if (Volatile.Read(ref _remaining) > 0)
            throw new WorkspacesException(502, "No good peer",
                $"no good peer remains for blob {pieces.Sha256[..12]} ({_remaining} of {pieces.Count} pieces missing): " +
                string.Join("; ", progress.Dropped.Select(d => $"{d.Key} {d.Value}")) +
                (holders.Count == 0 ? "no peer holds it" : "") + "; pull again to resume from the pieces on disk");
    }

    private async Task ServeAsync(PullSource peer, CancellationToken ct)
    {
        using var dropped = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await Task.WhenAll(Enumerable.Range(0, requestsPerPeer).Select(_ => WorkAsync(peer, dropped, ct)));
    }

    private async Task WorkAsync(PullSource peer, CancellationTokenSource dropped, CancellationToken ct)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(pieces.PieceSize);
        try
        {
            while (true)
            {
                int index;
                try
                {
                    index = await _queue.Reader.ReadAsync(dropped.Token);
                }
                catch (ChannelClosedException) { return; }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return; } // this peer was dropped

                string? wrong;
                try
                {
                    wrong = await FetchAsync(peer, index, buffer, dropped.Token, ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    _queue.Writer.TryWrite(index);
                    if (!dropped.IsCancellationRequested) drop(peer, $"was lost: {e.Message}", false);
                    await dropped.CancelAsync();
                    return;
                }
                if (wrong is not null)
                {
                    _queue.Writer.TryWrite(index);
                    drop(peer, wrong, true);
                    await dropped.CancelAsync();
                    return;
                }
                if (Interlocked.Decrement(ref _remaining) == 0) _queue.Writer.TryComplete();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>One piece by Range (If-Range on the blob's hash); null when it was right and is written, else what was wrong with it.</summary>
    private async Task<string?> FetchAsync(PullSource peer, int index, byte[] buffer, CancellationToken peerToken, CancellationToken ct)
    {
        var (offset, length) = pieces.Range(index);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(peerToken);
        timeout.CancelAfter(PieceTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/peer/blobs/{pieces.Sha256}");
        request.Headers.Range = new RangeHeaderValue(offset, offset + length - 1);
        request.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue($"\"{pieces.Sha256}\""));
        try
        {
            using var response = await PeerCall.SendAsync(peer.Http, peer.Name, request, timeout.Token, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.PartialContent)
                return $"answered {(int)response.StatusCode} instead of 206 for piece {index}";
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            int read = 0, n;
            while (read < length && (n = await body.ReadAsync(buffer.AsMemory(read, length - read), timeout.Token)) > 0) read += n;
            if (read < length) throw new IOException($"the connection ended after {read} of {length} bytes of piece {index}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !peerToken.IsCancellationRequested)
        {
            throw new TimeoutException($"piece {index} did not arrive within {PieceTimeout.TotalSeconds:0} s");
        }
        if (!pieces.Matches(index, buffer.AsSpan(0, length)))
            return $"served a corrupt piece: piece {index} (bytes {offset}-{offset + length - 1}) of blob {pieces.Sha256[..12]} does not match its SHA-256";
        await part.WritePieceAsync(index, buffer.AsMemory(0, length), ct);
        progress.Add(peer.Name, length);
        return null;
    }
}
