using System.Diagnostics;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Three hosts shared by the pull tests: host1 an honest peer, host2 a peer that flips a byte in every
/// piece it serves (WORKSPACES_FAULT_CORRUPT_PIECES), host3 the receiver. Each test brings its own images.
/// </summary>
public sealed class PullHosts : IAsyncLifetime
{
    public PeerHosts Hosts { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Hosts = await PeerHosts.StartAsync(3, perHost: i => i == 2
            ? new PeerHosts.HostOptions(Environment: new() { ["WORKSPACES_FAULT_CORRUPT_PIECES"] = "1" })
            : null);
        await Hosts.JoinAllAsync();
    }

    public async Task DisposeAsync() => await Hosts.DisposeAsync();
}

/// <summary>Images pulled from peers by hash: only what is missing travels, in checked pieces, resumable, under the receiver's policy.</summary>
public sealed class ImagePullTests(PullHosts fixture) : IClassFixture<PullHosts>
{
    private const long BigSize = 512L << 20;
    private PeerHosts Hosts => fixture.Hosts;

    [Fact]
    public async Task Launching_a_delta_chain_whose_base_is_here_pulls_only_the_two_deltas_and_the_workspace_boots()
    {
        var (sender, receiver) = (Hosts[0], Hosts[2]);
        // On the sender: base, a checked-in delta, and a second delta on that one.
        await GuestImages.ImportAsync(sender.Client, "chain-base");
        await sender.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("maker", "chain-base", Cmdline: await GuestImages.CmdlineWithMarkAsync("one")));
        await sender.Client.ActAndWaitAsync("maker", "start");
        await sender.Daemon.WaitForConsoleAsync("maker", "WORKSPACE-READY boot=1");
        await sender.Client.ActAndWaitAsync("maker", "stop");
        var delta1 = await sender.Client.CheckinAsync("maker", new CheckinRequest("chain-one"));
        await sender.Client.ActAndWaitAsync("maker", "start");
        await sender.Daemon.WaitForConsoleAsync("maker", "WORKSPACE-READY boot=2");
        await sender.Client.ActAndWaitAsync("maker", "stop");
        var delta2 = await sender.Client.CheckinAsync("maker", new CheckinRequest("chain-two"));
        Assert.Equal(delta1.Id, delta2.Parent);

        // The receiver has the base (the same files make the same image), not the deltas.
        var @base = await GuestImages.ImportAsync(receiver.Client, "chain-base");
        Assert.Equal(delta1.Parent, @base.Id);
        long deltas = delta1.Size + delta2.Size;
        long[] baseBlobs = [new FileInfo((await TestGuest.GetAsync()).Disk).Length, new FileInfo((await TestGuest.GetAsync()).Initrd).Length,
            new FileInfo((await TestGuest.GetAsync()).Kernel).Length];
        long disk1 = BlobSize(sender, delta1.Disk!), disk2 = BlobSize(sender, delta2.Disk!);

        long before = await PeerHosts.ReceivedBytesAsync(receiver);
        var clock = Stopwatch.StartNew();
        var launch = await receiver.Daemon.WsAsync("launch", "chain-two", "w");
        clock.Stop();
        long received = await PeerHosts.ReceivedBytesAsync(receiver) - before;
        Assert.True(launch.ExitCode == 0, $"ws launch failed: {launch.Stderr}\n{receiver.Daemon.Log}");
        Assert.Contains("Image chain-two is not here; pulling it from host1...", launch.Stderr);

        // Only the two delta disks crossed: at least their bytes, and less than the smallest base blob on top.
        long allowance = (long)((disk1 + disk2) * 0.1) + (256 << 10);
        Assert.True(allowance < baseBlobs.Min(), "the test could not tell a base blob crossing from overhead");
        Assert.InRange(received, disk1 + disk2, disk1 + disk2 + allowance);
        Console.WriteLine($"chain pull: delta disks {disk1} + {disk2} bytes, {received} bytes received by host3, launch took {clock.Elapsed.TotalSeconds:0.0} s (images {deltas} bytes)");

        foreach (var name in new[] { "chain-one", "chain-two" })
        {
            var report = await receiver.Client.VerifyImageAsync(name);
            Assert.True(report.Intact, string.Join("; ", report.Problems));
            Assert.NotEmpty(report.Signatures); // the checkin's signature by host1 came along
            Assert.All(report.Signatures, s => Assert.True(s.Valid));
        }
        var verify = await receiver.Daemon.WsAsync("image", "verify", "chain-two");
        Assert.True(verify.ExitCode == 0, verify.Stderr);
        Assert.Contains("intact", verify.Stdout);

        // And it boots with the sender's disk: two boots there, this is the third.
        await receiver.Daemon.WaitForConsoleAsync("w", "WORKSPACE-READY boot=3");
    }

    [Fact]
    public async Task A_pull_cut_by_the_senders_death_and_then_by_its_own_resumes_from_the_pieces_on_disk()
    {
        var (sender, receiver) = (Hosts[0], Hosts[2]);
        var image = await ImportBigAsync("big-resume", sender);
        string part = Path.Combine(receiver.Daemon.StateDir, "images", ".pulls", image.Disk + ".part");
        await Hosts.LimitAsync(receiver, "400mbit"); // about 10 s for the blob: "halfway" is a moment a test can catch
        try
        {
            long before = await PeerHosts.ReceivedBytesAsync(receiver);

            // 1: the sender dies past 40%.
            var first = await receiver.Client.StartPullAsync(new PullImageRequest("big-resume", From: "host1"));
            await WaitForProgressAsync(receiver.Client, first.Id, 0.4);
            await sender.Daemon.KillAsync();
            var cut = await receiver.Client.WaitOperationAsync(first.Id);
            Assert.Equal(OperationStatus.Failed, cut.Status);
            Assert.Contains("host1", cut.Error);
            Assert.True(File.Exists(part), "the partial blob should be kept for a resume");
            long afterFirst = await PeerHosts.ReceivedBytesAsync(receiver) - before;

            // 2: the sender is back; the pull again resumes, and past 70% the receiver itself dies.
            await sender.Daemon.StartAsync();
            var second = await receiver.Client.StartPullAsync(new PullImageRequest("big-resume"));
            var resumed = await WaitForProgressAsync(receiver.Client, second.Id, 0.7);
            Assert.True(resumed.Transfer!.BytesResumed >= BigSize * 0.4, $"only {resumed.Transfer.BytesResumed} bytes were resumed");
            await receiver.Daemon.KillAsync();

            // 3: at its start the receiver resumes the recorded pull by itself.
            await receiver.Daemon.StartAsync();
            var auto = (await receiver.Client.ListOperationsAsync()).Single(o => o.Kind == "pull" && o.Target == "big-resume");
            var done = await receiver.Client.WaitOperationAsync(auto.Id);
            Assert.True(done.Status == OperationStatus.Done, $"{done.Error}\n{receiver.Daemon.Log}");
            Assert.True(done.Transfer!.BytesResumed >= BigSize * 0.7, $"only {done.Transfer.BytesResumed} bytes were resumed at start");
            long total = await PeerHosts.ReceivedBytesAsync(receiver) - before;

            // Over three attempts the blob crossed about once: nothing on disk was fetched again.
            Console.WriteLine($"resume: {afterFirst} bytes before the sender died, {total} bytes in all for a {BigSize}-byte blob; {done.Detail}");
            Assert.InRange(total, BigSize, (long)(BigSize * 1.06));
            Assert.False(File.Exists(part));
            Assert.True((await receiver.Client.VerifyImageAsync("big-resume")).Intact);
        }
        finally
        {
            await Hosts.UnlimitAsync(receiver);
        }
    }

    [Fact]
    public async Task A_blob_two_peers_hold_comes_from_both_and_the_one_serving_corrupt_pieces_is_caught_and_reported()
    {
        var (honest, liar, receiver) = (Hosts[0], Hosts[1], Hosts[2]);
        string file = await RandomDiskAsync();
        try
        {
            await honest.Client.ImportLocalImageAsync(new ImageUpload("big-shared", file));
            var image = await liar.Client.ImportLocalImageAsync(new ImageUpload("big-shared", file));
            using var watching = new CancellationTokenSource();
            var transfers = new List<EventInfo>();
            var events = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in receiver.Client.StreamEventsAsync(watching.Token))
                        if (e.Type == "transfer") lock (transfers) transfers.Add(e);
                }
                catch (OperationCanceledException) { }
            });
            long liarSent = await PeerHosts.SentBytesAsync(liar), honestSent = await PeerHosts.SentBytesAsync(honest);

            // On a terminal (script gives ws one), as a person would watch it: the bar, then what came from where.
            var (ws, prefix) = Repo.Cli;
            string[] argv = [ws, .. prefix, "--socket", receiver.Daemon.Socket, "image", "pull", "big-shared"];
            string command = string.Join(' ', argv.Select(a => $"'{a}'"));
            var pull = await Processes.RunAsync("script", ["-qec", command, "/dev/null"], TimeSpan.FromMinutes(5), new Dictionary<string, string> { ["TERM"] = "xterm" });
            Assert.True(pull.ExitCode == 0, $"{pull.Stdout}\n{pull.Stderr}\n{receiver.Daemon.Log}");
            Assert.Matches(@"Pulling big-shared \[#*\.*\] +\d+% [\d.]+ MiB/512\.0 MiB [\d.]+ [KM]iB/s from host1", pull.Stdout);
            liarSent = await PeerHosts.SentBytesAsync(liar) - liarSent;
            honestSent = await PeerHosts.SentBytesAsync(honest) - honestSent;

            // Both served: the liar at least one piece (corrupt), the honest one the rest.
            Assert.True(liarSent >= 4 << 20, $"host2 sent only {liarSent} bytes: it served no piece");
            Assert.True(honestSent >= BigSize - liarSent, $"host1 sent only {honestSent} bytes");
            // Caught and reported: in the command's output, the operation, an event and the log.
            Assert.Contains("peer 'host2' dropped: it served a corrupt piece", pull.Stdout);
            var op = (await receiver.Client.ListOperationsAsync()).Last(o => o.Kind == "pull" && o.Target == "big-shared");
            Assert.Equal(["host2"], op.Transfer!.BadPeers);
            Assert.Contains("Pull of big-shared: peer host2 dropped for the rest of the pull", receiver.Daemon.Log);
            await watching.CancelAsync();
            await events;
            lock (transfers)
            {
                Assert.Contains(transfers, e => e.State == "bad-peer" && e.Peer == "host2");
                Assert.Contains(transfers, e => e.State == "done");
            }
            Assert.Equal(image.Id, (await receiver.Client.GetImageAsync("big-shared")).Id);
            Assert.True((await receiver.Client.VerifyImageAsync("big-shared")).Intact);
            Console.WriteLine($"two peers: host1 sent {honestSent} bytes, host2 sent {liarSent} bytes; {op.Detail}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_sealed_image_travels_sealed_and_starts_on_the_receiver_once_its_key_is_resealed_to_it_and_pulled_again()
    {
        var (sender, receiver) = (Hosts[0], Hosts[2]);
        await GuestImages.ImportAsync(sender.Client, "sealed-guest", encrypt: true);

        // Pulled as it is: the disk comes, its key only sealed to the sender, so the receiver cannot open it.
        var pulled = await receiver.Client.PullImageAsync(new PullImageRequest("sealed-guest"));
        Assert.True(pulled.Encrypted);
        var refused = await receiver.Daemon.WsAsync("launch", "sealed-guest", "sealed-w");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("is sealed to another host", refused.Stderr);

        // The sender seals the key to the receiver too; pulling again brings the new seal and no bytes.
        string receiverKey = (await receiver.Client.GetHostAsync()).SealingKey!;
        await sender.Client.ResealImageAsync("sealed-guest", receiverKey);
        var again = await receiver.Client.StartPullAsync(new PullImageRequest("sealed-guest"));
        var done = WorkspacesClient.EnsureDone(await receiver.Client.WaitOperationAsync(again.Id));
        Assert.Equal(0, done.Transfer!.BytesTotal);

        Assert.DoesNotContain(await receiver.Client.ListWorkspacesAsync(), w => w.Name == "sealed-w"); // refused at create: nothing half-made
        await receiver.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("sealed-w", "sealed-guest"));
        await receiver.Client.ActAndWaitAsync("sealed-w", "start");
        await receiver.Daemon.WaitForConsoleAsync("sealed-w", "WORKSPACE-READY boot=1");
    }

    [Fact]
    public async Task Under_requireSignedImages_an_unsigned_image_pulled_from_a_peer_is_refused_at_launch_as_a_local_one_is()
    {
        await using var hosts = await PeerHosts.StartAsync(2, new() { ["policy"] = new Dictionary<string, object> { ["requireSignedImages"] = true } });
        await hosts.JoinAllAsync();
        var (sender, receiver) = (hosts[0], hosts[1]);
        await GuestImages.ImportAsync(sender.Client, "plain");

        var local = await sender.Daemon.WsAsync("launch", "plain", "w");
        var pulled = await receiver.Daemon.WsAsync("launch", "plain", "w");

        Assert.NotEqual(0, local.ExitCode);
        Assert.NotEqual(0, pulled.ExitCode);
        Assert.Contains("it is unsigned", local.Stderr);
        Assert.Contains("Image plain is not here; pulling it from host1...", pulled.Stderr);
        // The same refusal, word for word, as the last line each printed.
        Assert.Equal(local.Stderr.Trim().Split('\n')[^1], pulled.Stderr.Trim().Split('\n')[^1]);
        // The image itself came: pulled, registered, and refused only by policy.
        var report = await receiver.Client.VerifyImageAsync("plain");
        Assert.True(report.Intact);
        Assert.False(report.Admitted);
        Assert.Empty(await receiver.Client.ListWorkspacesAsync());
    }

    [Fact]
    public async Task The_blob_endpoints_serve_peers_by_range_and_refuse_hostile_input()
    {
        var (server, peer) = (Hosts[0], Hosts[2]);
        string file = Path.Combine(Path.GetTempPath(), $"ws-pull-{Guid.NewGuid():N}.raw");
        await File.WriteAllBytesAsync(file, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1 << 20));
        ImageInfo image;
        try { image = await server.Client.ImportLocalImageAsync(new ImageUpload("hostile-small", file)); }
        finally { File.Delete(file); }
        string sha = image.Disk!;
        string pem = Path.Combine(peer.Daemon.StateDir, "keys", "peer-tls.pem");

        // A peer's certificate: a piece by Range, with the hash as ETag.
        var piece = await CurlAsync(peer, server, $"/v1/peer/blobs/{sha}", pem, "bytes=0-9");
        Assert.Equal(206, piece.Status);
        Assert.Contains($"etag: \"{sha}\"", piece.Head, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("content-length: 10", piece.Head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(416, (await CurlAsync(peer, server, $"/v1/peer/blobs/{sha}", pem, "bytes=2000000-2000100")).Status);
        var list = await CurlAsync(peer, server, $"/v1/peer/blobs/{sha}/pieces", pem);
        Assert.Equal(200, list.Status);
        Assert.Contains("\"pieceSize\":4194304", list.Body);
        var inventory = await CurlAsync(peer, server, "/v1/peer/images", pem);
        Assert.Equal(200, inventory.Status);
        Assert.Contains(sha, inventory.Body);

        // Hashes that are not 64 lowercase hex digits, and paths that climb, are refused before they name a file.
        foreach (var bad in new[] { sha.ToUpperInvariant(), sha[..63], sha + "0", new string('g', 64), "..%2F..%2Fworkspaces.db" })
        {
            var refused = await CurlAsync(peer, server, $"/v1/peer/blobs/{bad}", pem);
            Assert.True(refused.Status == 400, $"{bad}: {refused.Status} {refused.Body}");
            Assert.Contains("application/problem+json", refused.Head);
            Assert.Equal(400, (await CurlAsync(peer, server, $"/v1/peer/blobs/{bad}/pieces", pem)).Status);
        }
        // Dot segments are resolved by the server before routing: what is left names no blob route.
        foreach (var climb in new[] { "../../../../etc/passwd", "%2E%2E/%2E%2E/workspaces.db", "%2E%2E" })
        {
            var climbing = await CurlAsync(peer, server, $"/v1/peer/blobs/{climb}", pem);
            Assert.True(climbing.Status is 400 or 404, $"{climb}: {climbing.Status}");
            Assert.DoesNotContain("root:", climbing.Body);
            Assert.DoesNotContain("SQLite format", climbing.Body);
        }
        Assert.Equal(404, (await CurlAsync(peer, server, $"/v1/peer/blobs/{new string('0', 64)}", pem)).Status);

        // Without a certificate nothing gets past the handshake; and the daemon is alive after all of it.
        var anonymous = await CurlAsync(peer, server, $"/v1/peer/blobs/{sha}", null);
        Assert.Equal(0, anonymous.Status);
        Assert.Contains(image.Id, (await server.Client.ListImagesAsync()).Select(i => i.Id));
    }

    private sealed record CurlResult(int Status, string Head, string Body);

    /// <summary>curl from inside one host's namespace to another's peer listener, with a certificate (PEM key+cert) or none; status 0 when no HTTP answer came.</summary>
    private static async Task<CurlResult> CurlAsync(PeerHosts.Host from, PeerHosts.Host to, string path, string? pem, string? range = null)
    {
        List<string> args = ["netns", "exec", from.Namespace.Name, "curl", "-sk", "-i", "--path-as-is", "--tlsv1.3", "--max-time", "10"];
        if (pem is not null) args.AddRange(["--cert", pem]);
        if (range is not null) args.AddRange(["-H", $"Range: {range}"]);
        args.Add($"https://{to.Endpoint}{path}");
        var result = await Processes.RunAsync("ip", args);
        if (result.ExitCode != 0 || !result.Stdout.StartsWith("HTTP/", StringComparison.Ordinal)) return new CurlResult(0, "", result.Stderr);
        int split = result.Stdout.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        string head = split < 0 ? result.Stdout : result.Stdout[..split];
        return new CurlResult(int.Parse(head.Split(' ')[1]), head, split < 0 ? "" : result.Stdout[(split + 4)..]);
    }

    private static long BlobSize(PeerHosts.Host host, string sha) => new FileInfo(Path.Combine(host.Daemon.StateDir, "images", sha)).Length;

    private static async Task<ImageInfo> ImportBigAsync(string name, PeerHosts.Host host)
    {
        string file = await RandomDiskAsync();
        try { return await host.Client.ImportLocalImageAsync(new ImageUpload(name, file)); }
        finally { File.Delete(file); }
    }

    /// <summary>A raw disk of random bytes: nothing in it compresses or repeats, so every byte must cross.</summary>
    private static async Task<string> RandomDiskAsync()
    {
        string file = Path.Combine(Path.GetTempPath(), $"ws-pull-{Guid.NewGuid():N}.raw");
        var result = await Processes.RunAsync("bash", ["-c", $"head -c {BigSize} /dev/urandom > {file}"]);
        Assert.Equal(0, result.ExitCode);
        return file;
    }

    /// <summary>Polls the operation until its progress passes the mark (failing if it ends first).</summary>
    private static async Task<OperationInfo> WaitForProgressAsync(WorkspacesClient client, string id, double mark)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var op = await client.GetOperationAsync(id);
            if (op.Progress >= mark) return op;
            if (op.Status != OperationStatus.Running) throw new InvalidOperationException($"the pull ended ({op.Status}: {op.Error}) before {mark:P0}");
            if (clock.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException($"the pull stayed at {op.Progress:P0}");
            await Task.Delay(100); // the next look at a condition, not a guess at how long it takes
        }
    }
}
