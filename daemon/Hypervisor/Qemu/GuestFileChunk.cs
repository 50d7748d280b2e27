namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>One guest-file-read: the bytes read, and whether the end of the file was reached.</summary>
public sealed record GuestFileChunk(byte[] Data, bool Eof);
