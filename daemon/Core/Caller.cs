namespace Workspaces.Daemon.Core;

/// <summary>
/// Who is asking, from SO_PEERCRED: admins (root, the socket group) see everything, users their own.
/// Workspace names are per owner: a name means one of Namespace's workspaces, the caller's own
/// unless an admin chose another user's with ?owner=UID (ChosenOwner).
/// </summary>
public sealed record Caller(uint Uid, bool IsAdmin, int Pid = 0)
{
    public static readonly Caller System = new(0, true);

    public uint? ChosenOwner { get; init; }

    /// <summary>A peer host acting through the peer listener (by name here): it acts as this host's admins do.</summary>
    public string? Peer { get; init; }

    public uint Namespace => ChosenOwner ?? Uid;

    public bool CanSee(uint owner) => IsAdmin || owner == Uid;
}
