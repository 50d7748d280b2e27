namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// One member a document asks for: its workspace name, its role and its index in that role (from 1);
/// once placed, the peer that is to hold it (null: this host).
/// </summary>
public sealed record PlaygroundMember(string Name, PlaygroundRole Role, int Index, string? Host = null);
