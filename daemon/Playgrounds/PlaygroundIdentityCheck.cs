namespace Workspaces.Daemon.Playgrounds;

/// <summary>The outcome of checking an identity document: valid, or every problem found; Identity whenever it could be read.</summary>
public sealed record PlaygroundIdentityCheck(bool Valid, IReadOnlyList<string> Problems, PlaygroundIdentity? Identity);
