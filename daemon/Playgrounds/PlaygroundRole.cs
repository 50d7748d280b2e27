namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// One role of a playground: Count members made alike from one image (or template). An exported
/// document pins the image by Fingerprint (its id, as peers offer it for pulls): members are then
/// made from exactly that image, whatever this host calls it, and it is pulled from peers if missing.
/// </summary>
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
    int ImageLine,
    string? Fingerprint = null,
    int FingerprintLine = 0)
{
    /// <summary>What members are made from: the pinned fingerprint when there is one, else the name.</summary>
    public string Reference => Fingerprint ?? Image;
}
