namespace Workspaces.Daemon.Images;

/// <summary>A template's RAM and device state in its manifest: the blob, its format, and the guest shape it needs.</summary>
public sealed record ImageStatePart(string Sha256, string Format, int MemoryMib, int Vcpus);
