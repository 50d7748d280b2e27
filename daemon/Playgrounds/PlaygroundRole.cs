namespace Workspaces.Daemon.Playgrounds;

/// <summary>One role of a playground: Count members made alike from one image (or template).</summary>
public sealed record PlaygroundRole(
    string Name,
    string Image,
    int Count,
    int? Vcpus,
    int? MemoryMiB,
    string? UserData,
    IReadOnlyDictionary<string, string> Secrets,
    IReadOnlyList<long> DiskBytes,
    int Line,
    int ImageLine);
