namespace Workspaces.Daemon.Workspaces;

/// <summary>The guest-side parts of a create, checked: user-data as given, ssh key lines, secrets decoded.</summary>
public sealed record GuestRequest(string? UserData, IReadOnlyList<string> SshKeys, IReadOnlyDictionary<string, byte[]> Secrets);
