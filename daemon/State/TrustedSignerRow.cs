namespace Workspaces.Daemon.State;

/// <summary>A named signer whose signatures the trust policy accepts.</summary>
public sealed record TrustedSignerRow(string Name, string PublicKey, long AddedAt);
