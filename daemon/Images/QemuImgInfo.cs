namespace Workspaces.Daemon.Images;

/// <summary>What `qemu-img info --output=json` says of a file.</summary>
public sealed record QemuImgInfo(string Format, long VirtualSize, string? BackingFile, string? DataFile, bool Encrypted = false);
