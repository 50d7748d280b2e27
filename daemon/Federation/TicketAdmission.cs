using Workspaces.Client;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The destination's checks of a migration ticket, all before any byte of the workspace moves
/// (issue #13 item 2): the ticket is signed by the key of a pinned peer, the one that delivered it; it
/// is for this host; it is unexpired and never seen before (the migrations table remembers every ticket
/// hash and nonce, whatever their outcome); this host can give its CPU model and machine type; it has the
/// workspace's network; a copy's name is free here; its own trust policy admits the image; it holds a seal of a sealed image's
/// disk key; and admission takes the shape (or refuses with a counter-offer the caller sees).
/// Authenticity is checked before the ticket is recorded, so nobody but a peer can fill the table;
/// every later refusal is recorded with the ticket's hash.
/// </summary>
public sealed class TicketAdmission(
    PeerRepository peers,
    HostIdentity host,
    MigrationRepository migrations,
    NetworkRepository networks,
    TrustPolicy trust,
    Admission admission,
    CpuCatalog cpus,
    WorkspaceRepository workspaces,
    TimeProvider clock)
{
    /// <summary>The admitted ticket and its hash; throws MigrationTicketException (403) or a 409 with an offer.</summary>
    public (MigrationTicket Ticket, string Hash) Admit(string document, string callerPeer)
    {
        var ticket = MigrationTicketCodec.Open(document);
        var signer = peers.List().FirstOrDefault(p => p.SigningKey == ticket.SourceKey)
            ?? throw new MigrationTicketException(
                $"the ticket is signed by {KeyText.Fingerprint(ticket.SourceKey)}, which is not a pinned peer of this host");
        if (signer.Name != callerPeer)
            throw new MigrationTicketException($"the ticket is signed by peer '{signer.Name}' but was delivered by peer '{callerPeer}'");
        if (ticket.DestinationKey != host.SigningPublicKey)
            throw new MigrationTicketException(
                $"the ticket is for host {KeyText.Fingerprint(ticket.DestinationKey)}, not this one ({KeyText.Fingerprint(host.SigningPublicKey)})");
        long now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (now >= ticket.ExpiresAt)
            throw new MigrationTicketException($"the ticket expired {(now - ticket.ExpiresAt) / 1000} s ago");

        string hash = MigrationTicketCodec.Hash(ticket);
        var row = new MigrationRow(hash, ticket.Nonce, MigrationPhase.DestinationRole, ticket.WorkspaceId, ticket.Name, signer.Name,
            ticket.Mode, MigrationPhase.Prepare, null, null, now, now);
        if (!migrations.TryRecord(row))
            throw new MigrationTicketException($"the ticket {hash[..12]} (or its nonce) was seen before: a replayed ticket is never accepted again");

        try
        {
            CheckContent(ticket);
        }
        catch (Errors.WorkspacesException e)
        {
            migrations.SetOutcome(hash, MigrationOutcome.Refused, e.Message, now);
            throw;
        }
        return (ticket, hash);
    }

    private void CheckContent(MigrationTicket ticket)
    {
        if (!MigrationModes.All.Contains(ticket.Mode))
            throw new MigrationTicketException($"the ticket's mode '{ticket.Mode}' is none of {string.Join(", ", MigrationModes.All)}");
        if (cpus.MoveRefusal(ticket.CpuModel, ticket.MachineType) is { } cpu)
            throw new MigrationTicketException(cpu);
        // A copy's name must be free here before anything moves (a move's is checked when it is recorded: its id is the source's).
        if (ticket.CopyAs is { } copyName)
        {
            Core.Names.CheckWorkspace(copyName);
            if (workspaces.Find(ticket.Owner, copyName) is not null)
                throw Errors.WorkspacesException.Conflict($"owner {ticket.Owner} already has a workspace named '{copyName}' on this host; give the copy another name (--name)");
        }
        // A workspace without a NIC has no network identity to keep; one with a NIC needs the same-named network here.
        if (ticket.Network.Length > 0 && networks.Find(ticket.Network) is null)
            throw new MigrationTicketException($"this host has no network named '{ticket.Network}', which the workspace is attached to");
        CheckImage(ticket);
        var asked = new WorkspaceShape(ticket.Vcpus, ticket.MemoryMib);
        admission.AdmitDefinition(asked, acceptOffer: false);
        if (ticket.Mode != MigrationModes.Cold) admission.CheckStart(ticket.WorkspaceId, asked, acceptOffer: false);
    }

    /// <summary>This host's own policy over the image, from the manifest and signatures the ticket carries: nothing is pulled yet.</summary>
    private void CheckImage(MigrationTicket ticket)
    {
        byte[] canonical = System.Text.Encoding.UTF8.GetBytes(ticket.ImageManifest);
        var manifest = ImageManifest.Parse(canonical);
        if (ticket.ImageChain.Length == 0 || manifest.Id != ticket.ImageChain[0])
            throw new MigrationTicketException($"the ticket's image manifest ({manifest.Id[..12]}) is not the top of its image chain");
        var signatures = ticket.ImageSignatures.Select(s => new SignatureRow(manifest.Id, s.Signer, s.Signature, 0)).ToList();
        trust.Check(manifest.ToRow(), canonical, signatures);
        if (!manifest.Encrypted) return;
        if (ticket.SealedDiskKey is null)
            throw new MigrationTicketException($"image '{manifest.Name}' is sealed, and the ticket carries no seal of its key for this host");
        byte[]? key = KeySeal.Open(Convert.FromHexString(ticket.SealedDiskKey), host.SealingKey);
        if (key is null)
            throw new MigrationTicketException($"the ticket's seal of the disk key of '{manifest.Name}' does not open with this host's key");
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
    }
}
