namespace Workspaces.Daemon.Guests;

/// <summary>
/// What a workspace's identity document asserts: which workspace (id, name, owner uid), from which
/// image (its fingerprint), on which host (its name and Ed25519 signing key), since when, and the
/// workspace's own Ed25519 public key, whose private half only the guest holds.
/// </summary>
public sealed record IdentityClaims(
    string WorkspaceId,
    string Name,
    uint Owner,
    string Image,
    string HostName,
    string HostKey,
    string IssuedAt,
    string WorkspaceKey);
