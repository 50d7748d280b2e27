namespace Workspaces.Daemon.State;

/// <summary>A blob's piece list as stored: the pieces' SHA-256 digests, concatenated in order.</summary>
public sealed record BlobPieceRow(string Sha256, long PieceSize, long Size, byte[] Hashes);
