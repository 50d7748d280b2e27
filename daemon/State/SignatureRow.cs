namespace Workspaces.Daemon.State;

/// <summary>An Ed25519 signature over an image's canonical manifest.</summary>
public sealed record SignatureRow(string ImageId, string Signer, string Signature, long SignedAt);
