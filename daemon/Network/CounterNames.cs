namespace Workspaces.Daemon.Network;

/// <summary>
/// The named nftables counters of a workspace's drop rules, one per kind of violation:
/// "spoof-ID" and "rate-ID" in the bridge table, "egress-ID" in the inet table (ID: the workspace's id).
/// </summary>
public static class CounterNames
{
    public const string Spoof = "spoof";
    public const string Egress = "egress";
    public const string Rate = "rate";

    public static string Of(string kind, string workspaceId) => $"{kind}-{workspaceId}";

    /// <summary>"spoof-3f9c..." into (spoof, 3f9c...); false for a name that is not one of ours.</summary>
    public static bool TryParse(string name, out string kind, out string workspaceId)
    {
        int dash = name.IndexOf('-');
        (kind, workspaceId) = dash > 0 ? (name[..dash], name[(dash + 1)..]) : ("", "");
        return kind is Spoof or Egress or Rate && workspaceId.Length > 0;
    }
}
