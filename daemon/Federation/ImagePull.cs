using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// `ws image pull`: an image's chain fetched from peers by hash. Only blobs the local store lacks
/// travel; each is assembled in a partial blob from every peer that holds it (PieceScheduler), checked
/// whole, and the chain is then registered by ChainImport, so the receiving host's checks and trust
/// policy apply exactly as to an archive import. A pull is recorded until it ends, so one a crash
/// interrupted resumes at start from the pieces on disk.
/// </summary>
public sealed class ImagePull(
    PeerDirectory directory,
    PeerChannel channel,
    ImageStore store,
    ChainImport chains,
    PullRepository pulls,
    OperationRegistry operations,
    EventBus events,
    IOptionsMonitor<WorkspacesOptions> options,
    IAuditRecorder audit,
    ILogger<ImagePull> logger)
{
    public const string Refusal = "the image pulled from peers is refused";
    private static readonly TimeSpan InventoryTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Checks what can be checked at once (the peer named, any peer at all), records the pull and runs it as an operation.</summary>
    public Operation Start(PullImageRequest request, Caller caller)
    {
        if (string.IsNullOrWhiteSpace(request.Image) || request.Image.Length > 128)
            throw WorkspacesException.BadRequest("name the image to pull by its name or fingerprint");
        if (request.From is { } from) directory.Get(from);
        else if (directory.List().Count == 0)
            throw WorkspacesException.Conflict("this host has no peers to pull from: add one with `ws peer add`");
        lock (_running)
        {
            // Asking again for an image being pulled (ws launch beside ws image pull) joins the pull under way.
            if (_running.TryGetValue(request.Image, out var running) && running.Status == OperationStatus.Running) return running;
            foreach (var ended in _running.Where(r => r.Value.Status != OperationStatus.Running).Select(r => r.Key).ToList()) _running.Remove(ended);
            pulls.Record(new PullRow(request.Image, request.From, caller.Uid, DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
            return Run(request.Image, request.From, caller);
        }
    }

    /// <summary>Pulls a crash interrupted, started again (at daemon start).</summary>
    public IReadOnlyList<Operation> ResumeRecorded()
    {
        lock (_running) return pulls.List().Select(row => Run(row.Image, row.FromPeer, new Caller((uint)row.Owner, true))).ToList();
    }

    private readonly Dictionary<string, Operation> _running = [];

    private Operation Run(string reference, string? from, Caller caller)
    {
        var started = operations.Start("pull", reference, caller, async (op, ct) =>
        {
            var progress = new PullProgress(op);
            try
            {
                var image = await PullAsync(reference, from, op, progress, ct);
                pulls.Finish(reference);
                events.Publish(new EventInfo(DateTimeOffset.UtcNow, "image.pulled", null, null, image.Name, null), op.Owner);
                audit.Decided("image.pulled", "images/" + image.Name, op.Owner, Source(reference, from));
            }
            catch (Exception e)
            {
                // A peer gone or a link cut is worth resuming; a refusal, a missing image or a cancel is not.
                bool transient = e is WorkspacesException { Status: 502 or 503 or 504 } or HttpRequestException or IOException or TimeoutException
                                 && !ct.IsCancellationRequested;
                if (!transient) pulls.Finish(reference);
                string why = ct.IsCancellationRequested ? "canceled" : e.Message;
                op.Detail = Summary(progress, $"failed{(transient ? " (resumable: pull again)" : "")}: {why}");
                Transfer("failed", reference, null, why, op.Owner);
                audit.Decided("image.pull-failed", "images/" + reference, op.Owner, Source(reference, from), 502, why);
                throw;
            }
        });
        lock (_running) _running[reference] = started;
        return started;
    }

    private async Task<ImageRow> PullAsync(string reference, string? from, Operation op, PullProgress progress, CancellationToken ct)
    {
        var peers = from is null ? directory.List() : [directory.Get(from)];
        var sources = peers.Select(p => new PullSource(p.Name, channel.For(p.Address, p.TlsFingerprint))).ToList();
        var (inventories, unreachable) = await AskAsync(sources, ct);
        var plan = PullPlan.Make(reference, inventories, unreachable);
        var missing = chains.MissingBlobs(plan.Chain, Refusal);
        var usedPeers = missing.SelectMany(sha => plan.Holders.GetValueOrDefault(sha) ?? []).Select(p => p.Name).Distinct().ToList();
        progress.Begin(missing.Sum(sha => plan.BlobSizes.GetValueOrDefault(sha)), usedPeers);
        Transfer("started", plan.TopName, string.Join(",", usedPeers.Order()),
            $"{missing.Count} blob(s), {Size(progress.Total)} to fetch for {plan.TopName} ({plan.Chain.Top[..12]})", op.Owner);
        PullLog.Started(logger, plan.TopName, missing.Count, progress.Total, string.Join(", ", usedPeers));

        // Blobs completed before a failure stay in .pulls as whole parts: a resume finds every piece of them on disk.
        var staged = new Dictionary<string, StagedBlob>();
        try
        {
            foreach (var sha in missing)
            {
                var holders = plan.Holders.GetValueOrDefault(sha) ?? [];
                staged[sha] = await FetchBlobAsync(sha, plan.BlobSizes.GetValueOrDefault(sha), holders, op, progress, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            foreach (var blob in staged.Values) File.Delete(blob.Path); // canceled on purpose: nothing to resume
            throw;
        }
        try
        {
            var image = await chains.ImportAsync(plan.Chain, staged, Refusal, ct);
            op.Detail = Summary(progress, $"pulled {image.Name} ({image.Id[..12]}): {missing.Count} blob(s)");
            Transfer("done", image.Name, string.Join(",", progress.ByPeer.Keys.Order()), op.Detail, op.Owner);
            PullLog.Done(logger, image.Name, progress.Fetched, progress.Resumed, progress.Elapsed.TotalSeconds);
            return image;
        }
        finally
        {
            foreach (var blob in staged.Values) File.Delete(blob.Path); // what registration did not take: refused
        }
    }

    private async Task<StagedBlob> FetchBlobAsync(string sha, long size, IReadOnlyList<PullSource> holders, Operation op, PullProgress progress, CancellationToken ct)
    {
        var pieces = await PieceListAsync(sha, size, holders, op, progress, ct);
        var part = new PartialBlob(store, pieces);
        try
        {
            var done = await part.ResumeAsync(ct);
            long resumed = Enumerable.Range(0, pieces.Count).Where(i => done[i]).Sum(i => (long)pieces.Range(i).Length);
            if (resumed > 0)
            {
                progress.AddResumed(resumed);
                PullLog.Resumed(logger, sha[..12], resumed, pieces.Size);
            }
            var scheduler = new PieceScheduler(pieces, part, progress, options.CurrentValue.Peers.RequestsPerPeer,
                (peer, why, bad) => Drop(peer, why, bad, op, progress));
            await scheduler.RunAsync(holders, done, ct);
            return await part.CompleteAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            part.Discard(); // canceled on purpose: nothing to resume
            throw;
        }
        finally
        {
            part.Dispose(); // kept on disk otherwise: the next pull resumes from it
        }
    }

    /// <summary>The blob's piece list from the first holder whose list covers exactly the blob's size.</summary>
    private async Task<PieceList> PieceListAsync(string sha, long size, IReadOnlyList<PullSource> holders, Operation op, PullProgress progress, CancellationToken ct)
    {
        foreach (var peer in holders.Where(h => !progress.IsDropped(h.Name)))
        {
            try
            {
                var info = await PeerCall.GetAsync(peer.Http, peer.Name, $"v1/peer/blobs/{sha}/pieces", WorkspacesJson.Default.PieceListInfo, ct);
                var list = PieceList.FromInfo(info);
                if (list.Sha256 != sha || list.Size != size)
                    throw new InvalidDataException($"its piece list of blob {sha[..12]} covers {list.Size} bytes of {list.Sha256[..12]}, not the {size} bytes it listed");
                return list;
            }
            catch (InvalidDataException e)
            {
                Drop(peer, $"sent a bad piece list: {e.Message}", true, op, progress);
            }
            catch (Exception e) when (e is WorkspacesException or HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                Drop(peer, $"was lost: {e.Message}", false, op, progress);
            }
        }
        throw new WorkspacesException(502, "No good peer", $"no peer could describe blob {sha[..12]}: " +
            (holders.Count == 0 ? "no peer holds it" : string.Join("; ", progress.Dropped.Select(d => $"{d.Key} {d.Value}"))));
    }

    private async Task<(Dictionary<PullSource, PeerImageEntry[]>, List<string>)> AskAsync(List<PullSource> sources, CancellationToken ct)
    {
        var asked = sources.Select(async peer =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(InventoryTimeout);
            try
            {
                return (peer, await PeerCall.GetAsync(peer.Http, peer.Name, "v1/peer/images", WorkspacesJson.Default.PeerImageEntryArray, timeout.Token), (string?)null);
            }
            catch (Exception e) when (e is WorkspacesException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                return (peer, (PeerImageEntry[]?)null, e is WorkspacesException ? e.Message : $"peer '{peer.Name}' did not answer within {InventoryTimeout.TotalSeconds:0} s");
            }
        }).ToList();
        var answers = await Task.WhenAll(asked);
        return (answers.Where(a => a.Item2 is not null).ToDictionary(a => a.peer, a => a.Item2!),
            answers.Where(a => a.Item3 is not null).Select(a => a.Item3!).ToList());
    }

    /// <summary>A peer leaves the pull: reported once, in the log, on the event stream and in the operation.</summary>
    private void Drop(PullSource peer, string why, bool bad, Operation op, PullProgress progress)
    {
        if (!progress.Drop(peer.Name, why)) return;
        PullLog.Dropped(logger, peer.Name, op.Target, why);
        Transfer(bad ? "bad-peer" : "peer-lost", op.Target, peer.Name, $"peer '{peer.Name}' {why}", op.Owner);
    }

    private static Dictionary<string, string> Source(string reference, string? from) =>
        from is null ? new() { ["reference"] = reference } : new() { ["reference"] = reference, ["from"] = from };

    private void Transfer(string state, string image, string? peer, string? reason, uint owner) =>
        events.Publish(new EventInfo(DateTimeOffset.UtcNow, "transfer", null, state, $"{image}: {reason}", null, Peer: peer), owner);

    private static string Summary(PullProgress progress, string what)
    {
        var parts = new List<string> { what, $"{Size(progress.Fetched)} fetched" };
        if (progress.Resumed > 0) parts.Add($"{Size(progress.Resumed)} resumed from disk");
        if (progress.ByPeer.Count > 0) parts.Add("from " + string.Join(", ", progress.ByPeer.OrderBy(p => p.Key).Select(p => $"{p.Key} {Size(p.Value)}")));
        parts.Add($"in {progress.Elapsed.TotalSeconds:0.0} s");
        foreach (var (peer, why) in progress.Dropped.OrderBy(d => d.Key)) parts.Add($"peer '{peer}' dropped: it {why}");
        return string.Join("; ", parts);
    }

    private static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes / 1048576.0:0.0} MiB" : $"{bytes} bytes";
}
