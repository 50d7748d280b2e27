using System.Text;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// The source's Begin: it writes and signs the ticket for moving one workspace to one peer, and
/// records the move (phase Begin, the ticket's hash) before anything is sent. For a sealed image the
/// disk key is resealed to the destination's X25519 key inside the ticket, so it never travels in
/// clear; the overlay itself is LUKS under that same lineage key (DiskKeys), so its bytes are
/// ciphertext on the wire and on the destination's disk without a second layer.
/// </summary>
public sealed class TicketIssuer(
    PeerRepository peers,
    HostIdentity host,
    ImageService images,
    ImageRepository imageRows,
    NetworkRepository networks,
    MigrationRepository migrations,
    TimeProvider clock)
{
    /// <summary>Long enough for Prepare's checks; the ticket is spent at Prepare, the transfer may take longer.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>copyAs: null for a move; the copy's name on the peer for `--keep-source`.</summary>
    public (MigrationTicket Ticket, string Document, string Hash) Begin(WorkspaceRow workspace, string peerName, string mode, string? copyAs = null)
    {
        var peer = peers.Find(peerName) ?? throw WorkspacesException.NotFound($"no peer named {Names.Quote(peerName)}");
        if (peer.SigningKey is null || peer.SealingKey is null)
            throw WorkspacesException.Conflict($"peer '{peer.Name}' has not been reached yet, so its keys are unknown; check `ws peer list`");
        var image = imageRows.Find(workspace.ImageId)
            ?? throw new WorkspacesException(500, "Missing image", $"the image of workspace '{workspace.Name}' is not recorded");
        string cpu = workspace.CpuModel;
        if (!CpuModels.IsMigratable(cpu))
            throw WorkspacesException.Conflict($"workspace '{workspace.Name}' runs on the host's own CPU (cpu model '{cpu}'): it opted out of moves");

        var chain = images.Chain(image);
        var nic = networks.NicOf(workspace.Id);
        long now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var ticket = new MigrationTicket(
            WorkspaceId: workspace.Id, Name: workspace.Name, Owner: workspace.Owner,
            Vcpus: workspace.Vcpus, MemoryMib: workspace.MemoryMib, Limits: Limits(workspace),
            CpuModel: cpu, MachineType: CpuModels.DefaultMachine, Mode: mode,
            ImageChain: chain.Select(i => i.Id).ToArray(),
            ImageManifest: Encoding.UTF8.GetString(images.CanonicalManifest(image)),
            ImageSignatures: imageRows.Signatures(image.Id).Select(s => new MigrationTicketSignature(s.Signer, s.Signature)).ToArray(),
            Mac: nic?.Mac ?? "", Network: nic?.Network ?? "",
            SourceKey: host.SigningPublicKey, DestinationKey: peer.SigningKey,
            SealedDiskKey: image.Encrypted ? ResealKey(image, peer.SealingKey) : null,
            Nonce: MigrationTicketCodec.NewNonce(), IssuedAt: now, ExpiresAt: now + (long)Lifetime.TotalMilliseconds, CopyAs: copyAs,
            Egress: nic?.Egress, RateKbit: nic?.RateKbit);
        string hash = MigrationTicketCodec.Hash(ticket);
        migrations.TryRecord(new MigrationRow(hash, ticket.Nonce, MigrationPhase.SourceRole, workspace.Id, workspace.Name, peer.Name,
            mode, MigrationPhase.Begin, null, null, now, now));
        MigrationFaults.Reach(MigrationPhase.SourceRole, MigrationPhase.Begin);
        return (ticket, MigrationTicketCodec.Sign(ticket, host), hash);
    }

    private string ResealKey(ImageRow image, string recipient)
    {
        byte[] key = images.Keys.Unseal(image);
        try
        {
            return Convert.ToHexStringLower(KeySeal.Seal(key, KeyText.ParseSealing(recipient)));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The workspace's resource limits as one canonical string (null limits written as "-").</summary>
    private static string Limits(WorkspaceRow w) =>
        $"cpuQuotaPercent={w.CpuQuotaPercent?.ToString() ?? "-"};cpuWeight={w.CpuWeight?.ToString() ?? "-"};" +
        $"ioWeight={w.IoWeight?.ToString() ?? "-"};tasksMax={w.TasksMax?.ToString() ?? "-"}";
}
