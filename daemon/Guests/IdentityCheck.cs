namespace Workspaces.Daemon.Guests;

/// <summary>The verdict on an identity document: valid, or every problem found; the claims when it could be read.</summary>
public sealed record IdentityCheck(bool Valid, IReadOnlyList<string> Problems, IdentityClaims? Claims);
