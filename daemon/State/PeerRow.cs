namespace Workspaces.Daemon.State;

/// <summary>
/// A host this one trusts as a peer: reached at Address, recognised only by its pinned TLS
/// certificate fingerprint. Its keys are null until the first contact when pinned by hand.
/// </summary>
public sealed record PeerRow(string Name, string Address, string TlsFingerprint, string? SigningKey, string? SealingKey, long AddedAt);
