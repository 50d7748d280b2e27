namespace Workspaces.Daemon.State;

/// <summary>What a blob's file looked like when its hash last matched.</summary>
public sealed record BlobCheckRow(string Sha256, long Device, long Inode, long Size, long ModifiedNs, long ChangedNs, long CheckedAt);
