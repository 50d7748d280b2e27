using Workspaces.Client;

namespace Workspaces.Cli;

/// <summary>
/// Pulls as a person sees them: a progress bar on stderr (bytes, rate, peers) while the daemon's pull
/// operation runs, and the "not here, pulling it" step that launch and create take for an image a peer has.
/// </summary>
public static class ImagePulls
{
    /// <summary>Follows a pull to its end; on a terminal, redraws its bar four times a second.</summary>
    public static async Task<OperationInfo> FollowAsync(WorkspacesClient client, OperationInfo op, string what, CancellationToken ct)
    {
        var wait = client.WaitOperationAsync(op.Id, ct: ct);
        if (Spinner.Wanted)
        {
            var stderr = Console.Error;
            while (!wait.IsCompleted)
            {
                try { op = await client.GetOperationAsync(op.Id, ct); }
                catch (ApiException) { } // gone from the list: the wait answers
                stderr.Write($"\r\u001b[2K{Line(what, op)}");
                await Task.WhenAny(wait, Task.Delay(250, ct));
            }
            stderr.Write("\r\u001b[2K");
        }
        return WorkspacesClient.EnsureDone(await wait);
    }

    /// <summary>"Pulling web [#####.....] 52% 266.0 MiB/512.0 MiB 41.2 MiB/s from host2, host3".</summary>
    public static string Line(string what, OperationInfo op)
    {
        if (op.Transfer is not { } t) return $"{what}: asking peers...";
        const int width = 24;
        int filled = (int)Math.Round(op.Progress * width);
        string bar = new string('#', filled) + new string('.', width - filled);
        string peers = t.Peers.Length == 0 ? "no peer" : string.Join(", ", t.Peers);
        string bad = t.BadPeers.Length == 0 ? "" : $" (dropped: {string.Join(", ", t.BadPeers)})";
        return $"{what} [{bar}] {op.Progress * 100,3:0}% {Output.Size(t.BytesDone)}/{Output.Size(t.BytesTotal)} {Output.Size((long)t.BytesPerSecond)}/s from {peers}{bad}";
    }

    /// <summary>
    /// For launch and create: an image that is not here but on a peer is pulled first, saying so; one
    /// that no peer has either leaves the not-found answer as it was.
    /// </summary>
    public static async Task EnsureHereAsync(WorkspacesClient client, string image, CancellationToken ct)
    {
        ApiException notHere;
        try
        {
            await client.GetImageAsync(image, ct);
            return;
        }
        catch (ApiException e) when (e.Status == 404)
        {
            notHere = e;
        }
        OperationInfo op;
        try
        {
            op = await client.StartPullAsync(new PullImageRequest(image), ct);
        }
        catch (ApiException e) when (e.Status is 403 or 409)
        {
            throw new ApiException(notHere.Problem with { Detail = $"{notHere.Message} (and it cannot be pulled from peers: {e.Message})" });
        }
        // The pull names its peers once it has read their inventories; until then there is nothing to say.
        while (op.Status == OperationStatus.Running && op.Transfer is null)
        {
            await client.WaitOperationAsync(op.Id, TimeSpan.FromSeconds(1), ct);
            op = await client.GetOperationAsync(op.Id, ct);
        }
        if (op.Status is OperationStatus.Failed or OperationStatus.Canceled && op.Transfer is null)
            throw new ApiException(notHere.Problem with { Detail = $"{notHere.Message}, and no peer has it either: {op.Error}" });
        string peers = op.Transfer is { Peers.Length: > 0 } t ? string.Join(", ", t.Peers) : "peers";
        Console.Error.WriteLine($"Image {image} is not here; pulling it from {peers}...");
        var done = await FollowAsync(client, op, $"Pulling {image}", ct);
        if (done.Detail is { } detail) Console.Error.WriteLine(detail);
    }
}
