namespace Workspaces.Daemon.State;

/// <summary>
/// Which workspaces a listing wants, and which page: every filter is optional (null: any). Pages are
/// keyset pages in (name, owner) order: After is the last row of the previous page, so rows added or
/// removed meanwhile never shift a page (no row is listed twice, none that existed throughout is missed).
/// </summary>
public sealed record WorkspaceQuery
{
    public uint? Owner { get; init; }
    public string? State { get; init; }
    /// <summary>An image's name or fingerprint.</summary>
    public string? Image { get; init; }
    public string? NamePrefix { get; init; }
    public (string Name, uint Owner)? After { get; init; }
    /// <summary>Null: all the rest.</summary>
    public int? Limit { get; init; }
}
