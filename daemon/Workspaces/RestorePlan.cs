namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// A start that restores instead of booting: the saved state's file, the shape QEMU must have to take it,
/// the address the guest has configured (null: none known), and whether it is a template's (then the
/// guest must be given its own identity once it runs).
/// </summary>
public sealed record RestorePlan(string Path, int MemoryMib, int Vcpus, string? Address, bool Template);
