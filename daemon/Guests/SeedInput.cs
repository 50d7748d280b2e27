namespace Workspaces.Daemon.Guests;

/// <summary>Everything a seed is made from: who the instance is, its address for this run, and what its owner asked for.</summary>
public sealed record SeedInput(
    string InstanceId,
    string HostName,
    SeedAddress? Address,
    string? UserData,
    IReadOnlyList<string> SshKeys,
    IReadOnlyList<GuestFile> Files);
