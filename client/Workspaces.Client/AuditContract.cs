namespace Workspaces.Client;

/// <summary>
/// One line of the audit log (JSON, one record a line, one file per UTC day). Each record carries the
/// SHA-256 of the previous line's exact bytes (Prev), so the lines form one chain across files; every
/// so often a checkpoint record signs the chain head with the host's Ed25519 key.
/// </summary>
public sealed record AuditRecord(
    long Seq,
    DateTimeOffset Time,
    AuditActor Actor,
    string Action,
    string? Target,
    uint? Owner,
    Dictionary<string, string>? Params,
    AuditOutcome Outcome,
    string Prev,
    AuditCheckpoint? Checkpoint = null);

/// <summary>Who acted and how that was established: "socket" (SO_PEERCRED on the Unix socket), "tls" (a peer's pinned certificate), "daemon" (the daemon itself).</summary>
public sealed record AuditActor(uint? Uid, string Auth, string? Peer = null, string? Fingerprint = null);

/// <summary>The HTTP status (or its equivalent for the daemon's own decisions) and, for refusals and failures, why.</summary>
public sealed record AuditOutcome(int Status, string? Reason = null);

/// <summary>
/// A checkpoint: Count records precede this one (seq 1..Count), Head is the hash of the last of them,
/// Signature is the host's Ed25519 signature of AuditChain.CheckpointMessage(Count, Head), Key the host's public key.
/// </summary>
public sealed record AuditCheckpoint(long Count, string Head, string Key, string Signature);

/// <summary>The result of checking a log: Ok, or the first record that was changed, removed or inserted.</summary>
public sealed record AuditVerification(
    bool Ok,
    long Records,
    long Checkpoints,
    long? FirstSeq,
    long? LastSeq,
    long? LastCheckpointSeq,
    string? BadFile,
    int? BadLine,
    long? BadSeq,
    string Message,
    string[] Notes);
