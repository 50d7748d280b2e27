namespace Workspaces.Daemon.Workspaces;

/// <summary>Who is asking, from SO_PEERCRED: admins (root, the socket group) see everything, users their own.</summary>
public sealed record Caller(uint Uid, bool IsAdmin, int Pid = 0)
{
    public static readonly Caller System = new(0, true);

    public bool CanSee(uint owner) => IsAdmin || owner == Uid;
}
