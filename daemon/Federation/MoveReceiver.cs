using System.Text.Json;
using System.Security.Cryptography;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The destination's side of a cold or stateful move after its Prepare admitted the ticket. Perform: the source
/// announces the ticket again and its overlay's hash; the image chain is pulled from the source by hash
/// (ImagePull: only blobs this host lacks move). Then the overlay arrives as one HTTPS body, staged
/// beside its final name, checked against the announced SHA-256, renamed into place, and the workspace's
/// record is made with the source's id, name, owner, shape and MAC on the same-named network (its address
/// is leased there at its next start): Finish. A stateful move's saved state arrives before the overlay the same
/// way and is recorded with its hash, so the next start restores it (and checks it first). Confirm closes the row once the source has deleted its copy.
/// Each phase is recorded in the migrations table before it acts.
/// </summary>
public sealed class MoveReceiver(
    MigrationRepository migrations,
    ImageService images,
    ImagePull pull,
    WorkspaceRepository workspaces,
    MigrationTransferRepository transfers,
    NetworkRepository networks,
    WorkspaceDisks disks,
    WorkspaceLayout layout,
    WorkspaceGuests guestSeeds,
    WorkspaceRecorder recorder,
    SavedStates savedStates,
    ImageRepository imageRows,
    HostIdentity host,
    TimeProvider clock,
    ILogger<MoveReceiver> logger)
{
    public async Task<PeerMigrationState> PerformAsync(string hash, string caller, PeerMigrationPerform perform, CancellationToken ct)
    {
        var row = Expect(hash, caller, MigrationPhase.Prepare);
        var ticket = MigrationTicketCodec.Open(perform.Ticket);
        if (MigrationTicketCodec.Hash(ticket) != hash)
            throw new MigrationTicketException($"the ticket sent with Perform is not the one admitted as {hash[..12]}");
        if (ticket.Mode is not (MigrationModes.Cold or MigrationModes.Stateful))
            throw WorkspacesException.BadRequest($"ticket {hash[..12]} is for a {ticket.Mode} move: it is performed through /live and /finish, not /perform");
        if ((ticket.Mode == MigrationModes.Stateful) != (perform.StateSha256 is not null)
            || perform.StateSha256 is { } stateSha && (stateSha.Length != 64 || !stateSha.All(char.IsAsciiHexDigit) || perform.StateFormat != SavedStates.Format))
            throw WorkspacesException.BadRequest($"a stateful move, and only one, announces its saved state by SHA-256 in format {SavedStates.Format}");
        if (perform.OverlaySha256 is not { Length: 64 } || !perform.OverlaySha256.All(char.IsAsciiHexDigit) || perform.OverlaySize < 0)
            throw WorkspacesException.BadRequest("Perform names the overlay by its SHA-256 (64 hex digits) and its size");
        if (workspaces.FindById(ticket.ArrivingId(hash)) is not null)
            throw WorkspacesException.Conflict($"workspace id {ticket.ArrivingId(hash)} already exists here");
        migrations.SetPhase(hash, MigrationPhase.Perform, Now);
        MigrationFaults.Reach(MigrationPhase.DestinationRole, MigrationPhase.Perform);
        MigrationLog.Phase(logger, row.Name, hash[..12], MigrationPhase.Perform, $"pulling image {ticket.ImageChain[0][..12]} from {caller}");
        if (!images.Exists(ticket.ImageChain[0]))
        {
            var op = pull.Start(new PullImageRequest(ticket.ImageChain[0], caller), new Caller(ticket.Owner, true));
            await op.Finished.WaitAsync(ct);
            if (op.Status != OperationStatus.Done)
                throw Fail(hash, new WorkspacesException(502, "Pull failed", $"pulling the image chain from '{caller}' failed: {op.Error}"));
        }
        transfers.Record(hash, JsonSerializer.Serialize(perform, WorkspacesJson.Default.PeerMigrationPerform));
        return State(hash);
    }

    /// <summary>A stateful move's saved state, before its overlay: staged in the workspace's directory and checked by hash.</summary>
    public async Task<PeerMigrationState> ReceiveStateAsync(string hash, string caller, Stream body, CancellationToken ct)
    {
        Expect(hash, caller, MigrationPhase.Perform);
        var announced = Announced(hash);
        if (announced?.Perform.StateSha256 is not { } sha)
            throw WorkspacesException.Conflict($"the move (ticket {hash[..12]}) announced no saved state to this daemon");
        string id = announced.Value.Ticket.ArrivingId(hash);
        string dir = layout.Dir(id);
        Directory.CreateDirectory(dir);
        try
        {
            await StageAsync(body, layout.SavedState(id), sha, announced.Value.Perform.StateSize, "saved state", ct);
            return State(hash);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Directory.Delete(dir, recursive: true);
            throw Fail(hash, e);
        }
    }

    /// <summary>Receives the overlay and makes the workspace (Finish); any failure leaves nothing of it here.</summary>
    public async Task<PeerMigrationState> ReceiveOverlayAsync(string hash, string caller, Stream body, CancellationToken ct)
    {
        var row = Expect(hash, caller, MigrationPhase.Perform);
        var (ticket, perform) = Announced(hash)
            ?? throw WorkspacesException.Conflict($"the move (ticket {hash[..12]}) announced no overlay to this daemon");
        var image = images.Get(ticket.ImageChain[0]);
        string id = ticket.ArrivingId(hash);
        string dir = layout.Dir(id);
        await using var revert = new Reverter(logger);
        Directory.CreateDirectory(dir);
        revert.Add(() => Directory.Delete(dir, recursive: true));
        try
        {
            if (perform.StateSha256 is not null && !File.Exists(layout.SavedState(id)))
                throw WorkspacesException.Conflict($"the move (ticket {hash[..12]}) is stateful and its saved state was not received");
            if (image.Disk is not null) disks.LinkBacking(id, image);
            long length = await StageAsync(body, layout.Overlay(id), perform.OverlaySha256.ToLowerInvariant(), perform.OverlaySize, "overlay", ct);

            var moved = Record(ticket, hash, caller, image, perform.StateSha256 is null ? WorkspaceStates.Defined : WorkspaceStates.Saved);
            revert.Add(() => workspaces.Delete(moved.Id)); // its NIC, guest and saved-state rows go with it (ON DELETE CASCADE)
            guestSeeds.Identity(moved, image); // its identity is this host's to sign now
            ArrivingSeal.Keep(ticket, imageRows, host.SealingPublicKey);
            if (ticket.Network.Length > 0 && !networks.TryInsertNic(ArrivingNic.For(ticket, moved.Id)))
                throw WorkspacesException.Conflict($"MAC {ticket.Mac} is already used on network '{ticket.Network}' here");
            // The restore at its next start checks the file against this record (SavedStates.VerifyAsync).
            if (perform.StateSha256 is { } stateSha)
                savedStates.Record(new SavedStateRow
                {
                    WorkspaceId = moved.Id, Sha256 = stateSha.ToLowerInvariant(), Size = perform.StateSize, Format = perform.StateFormat!,
                    MemoryMib = perform.StateMemoryMib, Vcpus = ticket.Vcpus, SavedAt = Now,
                }, $"moved from '{caller}' with its saved state");
            // Finish is the commit point both sides decide by: recorded only once the workspace is whole here,
            // so a destination at Finish always holds its copy, and one short of it holds nothing of it.
            migrations.SetPhase(hash, MigrationPhase.Finish, Now);
            transfers.Forget(hash);
            revert.Success();
            MigrationFaults.Reach(MigrationPhase.DestinationRole, MigrationPhase.Finish);
            recorder.Publish(moved);
            MigrationLog.Phase(logger, row.Name, hash[..12], MigrationPhase.Finish, $"received {length} bytes of overlay; the workspace is {moved.State} here");
            return State(hash);
        }
        catch (Exception e) when (e is not OperationCanceledException and not MigrationLinkDroppedException)
        {
            throw Fail(hash, e);
        }
    }

    private (MigrationTicket Ticket, PeerMigrationPerform Perform)? Announced(string hash)
    {
        if (transfers.Find(hash) is not { } row) return null;
        var perform = JsonSerializer.Deserialize(row.Perform, WorkspacesJson.Default.PeerMigrationPerform)!;
        return (MigrationTicketCodec.Open(perform.Ticket), perform);
    }

    /// <summary>Writes a body to a staging name beside its final one, checks its size and SHA-256, makes it durable and renames it into place.</summary>
    private static async Task<long> StageAsync(Stream body, string final, string sha, long size, string what, CancellationToken ct)
    {
        string staging = final + ".incoming";
        try
        {
            string got;
            long length = 0;
            await using (var file = new FileStream(staging, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 20];
                int n;
                while ((n = await body.ReadAsync(buffer, ct)) > 0)
                {
                    sha256.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), ct);
                    length += n;
                }
                file.Flush(flushToDisk: true);
                got = Convert.ToHexStringLower(sha256.GetHashAndReset());
            }
            if (length != size || got != sha)
                throw new WorkspacesException(422, "Transfer corrupted",
                    $"the {what} received ({length} bytes, {got[..12]}) is not the one announced ({size} bytes, {sha[..12]})");
            File.Move(staging, final);
            return length;
        }
        finally
        {
            File.Delete(staging);
        }
    }

    /// <summary>The source deleted its copy: this host's is the only one.</summary>
    public PeerMigrationState Confirm(string hash, string caller)
    {
        // Said again after a restart, or after this host settled it first by asking: the same answer.
        if (migrations.Find(hash) is { Outcome: MigrationOutcome.Succeeded, Role: MigrationPhase.DestinationRole } done && done.Peer == caller)
            return State(hash);
        // At Confirm already when a first Confirm died with this daemon or its answer was lost.
        if (migrations.Find(hash)?.Phase != MigrationPhase.Confirm) Expect(hash, caller, MigrationPhase.Finish);
        else Expect(hash, caller, MigrationPhase.Confirm);
        migrations.SetPhase(hash, MigrationPhase.Confirm, Now);
        MigrationFaults.Reach(MigrationPhase.DestinationRole, MigrationPhase.Confirm);
        migrations.SetOutcome(hash, MigrationOutcome.Succeeded, "the source confirmed: its copy is deleted", Now);
        return State(hash);
    }

    private WorkspaceRow Record(MigrationTicket ticket, string hash, string caller, ImageRow image, string state)
    {
        // A copy is a new workspace with its own id, name and MAC, which remembers where it came from; a move keeps them.
        var row = WorkspaceDefinitions.NewRow(ticket.ArrivingName(), ticket.Owner, image,
            $"{(ticket.IsCopy() ? "copied" : "moved")} from peer '{caller}' (ticket {hash[..12]})");
        (row.Id, row.Vcpus, row.MemoryMib, row.State) = (ticket.ArrivingId(hash), ticket.Vcpus, ticket.MemoryMib, state);
        if (ticket.IsCopy()) row.CopiedFrom = $"peer '{caller}', workspace '{ticket.Name}' ({ticket.WorkspaceId})";
        row.CpuModel = ticket.CpuModel; // the guest's CPU is the same here (admission checked this host gives it)
        if (!workspaces.TryInsert(row))
            throw WorkspacesException.Conflict($"owner {ticket.Owner} already has a workspace named '{ticket.ArrivingName()}' here");
        return row;
    }

    private MigrationRow Expect(string hash, string caller, string phase)
    {
        var row = migrations.Find(hash);
        if (row is null || row.Peer != caller || row.Role != MigrationPhase.DestinationRole)
            throw WorkspacesException.NotFound($"no move with ticket {Names.Quote(hash)} from peer '{caller}' here");
        if (row.Outcome is not null || row.Phase != phase)
            throw WorkspacesException.Conflict($"the move (ticket {hash[..12]}) is at {row.Phase}{(row.Outcome is null ? "" : $", {row.Outcome}")} here, not at {phase}");
        return row;
    }

    private Exception Fail(string hash, Exception e)
    {
        migrations.SetOutcome(hash, MigrationOutcome.Failed, e.Message, Now);
        return e;
    }

    private PeerMigrationState State(string hash)
    {
        var row = migrations.Find(hash)!;
        return new PeerMigrationState(row.TicketHash, row.Phase, row.Outcome, row.Detail);
    }

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
