namespace Workspaces.Client;

/// <summary>What an import uploads: a disk, a kernel+initrd boot set, or both; sealed (LUKS) when Encrypt.</summary>
public sealed record ImageUpload(
    string Name,
    string? DiskPath = null,
    string? KernelPath = null,
    string? InitrdPath = null,
    string? Cmdline = null,
    bool Encrypt = false,
    string[]? Tags = null);
