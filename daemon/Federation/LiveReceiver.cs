using System.Collections.Concurrent;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The destination's side of a live move or copy. Prepare: the image chain is pulled from the source by hash, the
/// workspace's record (the source's id, name, owner, shape, MAC on the same-named network; a copy's own id, name
/// and MAC) and a new overlay on the chain are made (on a sealed chain, sealed with the key the ticket brought), and the workspace is started as an incoming guest: the start's own path
/// (admission, lease, rules, tap, limits, seed) launches QEMU with -incoming defer, and LiveTransfer
/// exports the overlay and listens for the state; the stream ids go back to the source. Finish: the state
/// is complete, the export ends and the start runs the guest (Running). Until Finish the guest never runs
/// here: a failure, an abort, the incoming QEMU dying or the source never finishing kill it and remove the
/// record, and only then is the move recorded Failed here, so a source that sees Failed may resume.
/// A copy wakes with its source's RAM (virtio-net's migrated state even brings the source's MAC back into QEMU):
/// the start tells it its own identity once it runs (CloneIdentity: MAC, address, hostname, instance id), and its
/// QEMU's vmgenid GUID, derived from its own id, is not its source's, so the guest sees it was copied.
/// </summary>
public sealed class LiveReceiver(
    MigrationRepository migrations,
    ImageService images,
    ImagePull pull,
    PeerRepository peers,
    WorkspaceRepository workspaces,
    NetworkRepository networks,
    WorkspaceDisks disks,
    WorkspaceLayout layout,
    WorkspaceGuests guestSeeds,
    WorkspaceTransitions transitions,
    LiveTransfer live,
    ImageRepository imageRows,
    HostIdentity host,
    TimeProvider clock,
    ILogger<LiveReceiver> logger)
{
    /// <summary>How long an incoming guest waits for the source's Finish before it is given up (killed, Failed).</summary>
    public static readonly TimeSpan FinishPatience = TimeSpan.FromMinutes(10);

    private sealed class Incoming(string name)
    {
        public string Name { get; } = name;
        public TaskCompletionSource<LiveStreams> Listening { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Finish { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenSource Abort { get; } = new();
        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Started { get; set; } = Task.CompletedTask;
    }

    /// <summary>The incoming guests, by ticket hash: a restart forgets them (and its QEMU is an orphan of a start that never committed).</summary>
    private readonly ConcurrentDictionary<string, Incoming> _incoming = new();

    public async Task<PeerLiveStreams> PrepareAsync(string hash, string caller, PeerLivePrepare prepare, CancellationToken ct)
    {
        var row = Expect(hash, caller);
        var ticket = MigrationTicketCodec.Open(prepare.Ticket);
        if (MigrationTicketCodec.Hash(ticket) != hash)
            throw new MigrationTicketException($"the ticket sent with Prepare is not the one admitted as {hash[..12]}");
        if (ticket.Mode != MigrationModes.Live)
            throw WorkspacesException.BadRequest($"ticket {hash[..12]} is for a {ticket.Mode} move, not a live one");
        if (workspaces.FindById(ticket.ArrivingId(hash)) is not null)
            throw WorkspacesException.Conflict($"workspace id {ticket.ArrivingId(hash)} already exists here");
        var source = peers.Find(caller) ?? throw WorkspacesException.Forbidden($"peer '{caller}' is not pinned here");
        var incoming = new Incoming(row.Name);
        if (!_incoming.TryAdd(hash, incoming))
            throw WorkspacesException.Conflict($"the live move (ticket {hash[..12]}) is already being prepared here");
        try
        {
            await PullChainAsync(ticket, caller, ct);
            var moved = await DefineAsync(ticket, hash, caller, ct);
            MigrationFaults.Reach(MigrationPhase.DestinationRole, MigrationPhase.Prepare);
            // The start runs on its own (not the request's token): it lasts until Finish, or until it is given up.
            incoming.Started = Task.Run(() => transitions.ActAsync(moved.Name, WorkspaceAction.Start, new Caller(moved.Owner, true),
                new ActionOptions(Incoming: (guest, token) => ReceiveAsync(incoming, guest, moved.Id, source.TlsFingerprint, token)), incoming.Abort.Token));
            await Task.WhenAny(incoming.Listening.Task, incoming.Started).WaitAsync(ct);
            if (!incoming.Listening.Task.IsCompleted) await incoming.Started; // it failed before it listened: say why
            _ = EndWhenStartEndsAsync(hash, incoming, moved.Id);
            var ids = await incoming.Listening.Task;
            LiveMoveLog.Listening(logger, row.Name, hash[..12], caller);
            return new PeerLiveStreams(hash, ids.Nbd, ids.State);
        }
        catch (Exception e)
        {
            incoming.Abort.Cancel();
            await incoming.Started.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (_incoming.TryRemove(new KeyValuePair<string, Incoming>(hash, incoming)))
            {
                Remove(ticket.ArrivingId(hash));
                Fail(hash, row.Name, e.Message);
                incoming.Ended.TrySetResult();
            }
            throw;
        }
    }

    /// <summary>The source's Perform completed: run the guest here, and answer once it runs (Running recorded).</summary>
    public async Task<PeerMigrationState> FinishAsync(string hash, string caller, CancellationToken ct)
    {
        Expect(hash, caller);
        if (!_incoming.TryGetValue(hash, out var incoming) || !incoming.Listening.Task.IsCompletedSuccessfully)
            throw WorkspacesException.Conflict($"no incoming guest of the live move (ticket {hash[..12]}) waits here (restarted since, or given up)");
        incoming.Finish.TrySetResult();
        try
        {
            await incoming.Started.WaitAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // EndWhenStartEndsAsync has killed the copy and recorded the failure.
        }
        if (State(hash).Outcome == MigrationOutcome.Failed)
            throw new WorkspacesException(409, "Move failed", $"the live move (ticket {hash[..12]}) failed here and its copy is killed: {State(hash).Detail}");
        // Finish, the commit point both sides decide by, is recorded once the guest runs here: a destination that
        // dies before holds no running copy (the source, paused with the whole state, goes on), and one that dies
        // after keeps its guest running (QEMU outlives the daemon and is taken back at its start).
        migrations.SetPhase(hash, MigrationPhase.Finish, Now);
        MigrationFaults.Reach(MigrationPhase.DestinationRole, MigrationPhase.Finish);
        MigrationLog.Phase(logger, incoming.Name, hash[..12], MigrationPhase.Finish, "the guest runs here");
        return State(hash);
    }

    /// <summary>The source gives up before Finish (its Perform failed): the incoming guest is killed; true if there was one.</summary>
    public async Task<bool> AbortAsync(string hash)
    {
        if (!_incoming.TryGetValue(hash, out var incoming)) return false;
        incoming.Abort.Cancel();
        await incoming.Ended.Task; // the copy is killed, its record gone and the failure recorded
        return true;
    }

    /// <summary>Inside the start, on the launched, paused guest: export, listen, and wait for Finish (or give up).</summary>
    private async Task ReceiveAsync(Incoming incoming, IGuest guest, string id, string sourceFingerprint, CancellationToken ct)
    {
        var ids = await live.PrepareAsync(guest, layout.Overlay(id), layout.Guest(id).Dir, sourceFingerprint, ct);
        incoming.Listening.TrySetResult(ids);
        try
        {
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
            patience.CancelAfter(FinishPatience);
            var ended = await Task.WhenAny(incoming.Finish.Task, guest.Exited).WaitAsync(patience.Token);
            if (ended != incoming.Finish.Task)
                throw new HypervisorException($"the incoming QEMU exited before the source finished: {(await guest.Exited).Reason}");
            await live.ReceivedAsync(guest, ids, ct);
        }
        catch (Exception e)
        {
            await live.AbortAsync(guest, ids);
            if (e is OperationCanceledException && !ct.IsCancellationRequested)
                throw new TimeoutException($"the source did not finish the move within {FinishPatience.TotalMinutes} minutes", e);
            throw;
        }
    }

    /// <summary>Once the start ends: on failure its revert has killed QEMU; the record goes, and only then is Failed recorded.</summary>
    private async Task EndWhenStartEndsAsync(string hash, Incoming incoming, string id)
    {
        try
        {
            await incoming.Started;
        }
        catch (Exception e)
        {
            LiveMoveLog.IncomingFailed(logger, incoming.Name, hash[..12], e.Message);
            Remove(id);
            Fail(hash, incoming.Name, e is OperationCanceledException ? "aborted by the source before the switch-over" : e.Message);
        }
        finally
        {
            _incoming.TryRemove(hash, out _);
            incoming.Ended.TrySetResult();
        }
    }

    private async Task PullChainAsync(MigrationTicket ticket, string caller, CancellationToken ct)
    {
        if (images.Exists(ticket.ImageChain[0])) return;
        var op = pull.Start(new PullImageRequest(ticket.ImageChain[0], caller), new Caller(ticket.Owner, true));
        await op.Finished.WaitAsync(ct);
        if (op.Status != OperationStatus.Done)
            throw new WorkspacesException(502, "Pull failed", $"pulling the image chain from '{caller}' failed: {op.Error}");
    }

    /// <summary>
    /// The workspace's record (Defined until the guest runs), its NIC (the source's MAC; a copy's new one), and a new
    /// overlay on the chain: on a sealed chain the ticket's seal of the key is kept first, so the overlay is sealed
    /// with it and the incoming QEMU opens it decrypted (its export serves the mirror plaintext only inside the TLS tunnel).
    /// </summary>
    private async Task<WorkspaceRow> DefineAsync(MigrationTicket ticket, string hash, string caller, CancellationToken ct)
    {
        var image = images.Get(ticket.ImageChain[0]);
        if (image.Disk is null) throw WorkspacesException.BadRequest($"image {image.Name} has no disk: nothing to move live");
        string id = ticket.ArrivingId(hash);
        string dir = layout.Dir(id);
        await using var revert = new Reverter(logger);
        Directory.CreateDirectory(dir);
        revert.Add(() => Directory.Delete(dir, recursive: true));
        ArrivingSeal.Keep(ticket, imageRows, host.SealingPublicKey);
        await disks.CreateOverlayAsync(id, image, layout.Overlay(id), ct);
        var row = WorkspaceDefinitions.NewRow(ticket.ArrivingName(), ticket.Owner, image,
            $"arriving live from a peer{(ticket.IsCopy() ? " as a copy" : "")} (ticket {hash[..12]})");
        (row.Id, row.Vcpus, row.MemoryMib) = (id, ticket.Vcpus, ticket.MemoryMib);
        if (ticket.IsCopy()) row.CopiedFrom = $"peer '{caller}', workspace '{ticket.Name}' ({ticket.WorkspaceId})";
        row.CpuModel = ticket.CpuModel; // the incoming QEMU must give the guest the CPU it runs on now (admission checked it can)
        if (!workspaces.TryInsert(row))
            throw WorkspacesException.Conflict($"owner {ticket.Owner} already has a workspace named '{ticket.ArrivingName()}' here");
        revert.Add(() => workspaces.Delete(row.Id)); // its NIC and guest rows go with it (ON DELETE CASCADE)
        guestSeeds.Identity(row, image);
        if (ticket.Network.Length > 0 && !networks.TryInsertNic(ArrivingNic.For(ticket, row.Id)))
            throw WorkspacesException.Conflict($"MAC {ticket.Mac} is already used on network '{ticket.Network}' here");
        revert.Success();
        return row;
    }

    private void Remove(string id)
    {
        workspaces.Delete(id);
        if (Directory.Exists(layout.Dir(id))) Directory.Delete(layout.Dir(id), recursive: true);
    }

    private void Fail(string hash, string name, string why)
    {
        if (migrations.Find(hash) is { Outcome: null })
            migrations.SetOutcome(hash, MigrationOutcome.Failed, why, Now);
        MigrationLog.Phase(logger, name, hash[..12], "Failed", why);
    }

    private MigrationRow Expect(string hash, string caller)
    {
        var row = migrations.Find(hash);
        if (row is null || row.Peer != caller || row.Role != MigrationPhase.DestinationRole)
            throw WorkspacesException.NotFound($"no move with ticket {Names.Quote(hash)} from peer '{caller}' here");
        if (row.Outcome is not null || row.Phase != MigrationPhase.Prepare)
            throw WorkspacesException.Conflict($"the move (ticket {hash[..12]}) is at {row.Phase}{(row.Outcome is null ? "" : $", {row.Outcome}")} here, not at {MigrationPhase.Prepare}");
        return row;
    }

    private PeerMigrationState State(string hash)
    {
        var row = migrations.Find(hash)!;
        return new PeerMigrationState(row.TicketHash, row.Phase, row.Outcome, row.Detail);
    }

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
