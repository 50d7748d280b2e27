namespace Workspaces.Daemon.Images;

/// <summary>An uploaded file in staging, hashed, not yet under its address.</summary>
public sealed record StagedBlob(string Path, string Sha256, long Size);
