namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// A playground's identity document: its name and subnet, its members (each signed by its host), and
/// the host that applied it, whose Signature covers all of it, member signatures included.
/// </summary>
public sealed record PlaygroundIdentity(
    string Name, string Subnet, string IssuedAt, string HostName, string HostKey, IReadOnlyList<PlaygroundIdentityMember> Members, string Signature = "");
