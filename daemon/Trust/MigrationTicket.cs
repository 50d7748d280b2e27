namespace Workspaces.Daemon.Trust;

/// <summary>
/// What a source host promises a destination about one move (issue #13 item 2): which workspace,
/// whose, its shape, the image it runs (the top image's canonical manifest with its signatures, so the
/// destination can apply its own trust policy before any blob moves), its network identity, both
/// hosts' keys, and a nonce and expiry against replays. SealedDiskKey is the workspace's disk key
/// resealed by the source to the destination's X25519 key (hex), null for an unsealed image.
/// CopyAs is null for a move; for a copy (`ws move --keep-source`) it is the copy's name on the destination,
/// and the copy's id there is derived from the ticket (MigrationCopies.IdOf), so the source keeps its own.
/// Egress and RateKbit are the NIC's own policy (its egress allowlist, null for its network's; its rate limit), which
/// moves with it and is enforced by the destination's rules as its MAC's anti-spoofing is.
/// Signed as canonical JSON by MigrationTicketCodec.
/// </summary>
public sealed record MigrationTicket(
    string WorkspaceId,
    string Name,
    uint Owner,
    int Vcpus,
    int MemoryMib,
    string Limits,
    string CpuModel,
    string MachineType,
    string Mode,
    string[] ImageChain,
    string ImageManifest,
    MigrationTicketSignature[] ImageSignatures,
    string Mac,
    string Network,
    string SourceKey,
    string DestinationKey,
    string? SealedDiskKey,
    string Nonce,
    long IssuedAt,
    long ExpiresAt,
    string? CopyAs = null,
    string? Egress = null,
    int? RateKbit = null);

/// <summary>One signature over the ticket's image manifest, as the source holds it.</summary>
public sealed record MigrationTicketSignature(string Signer, string Signature);
