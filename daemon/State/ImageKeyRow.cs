namespace Workspaces.Daemon.State;

/// <summary>An image's disk key, sealed to one host's X25519 key (base64).</summary>
public sealed record ImageKeyRow(string ImageId, string Recipient, string Sealed);
