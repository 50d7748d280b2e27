namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// One member as the identity document names it. Its host signs it (Signature: base64 Ed25519 over
/// the member's canonical form without the signature), which binds the member's name, role, index,
/// MAC and address to the playground and to the host that runs it. Address is "" while it has none.
/// </summary>
public sealed record PlaygroundIdentityMember(
    string Playground, string Name, string Role, int Index, string Host, string HostKey, string Mac, string Address, string Signature = "");
