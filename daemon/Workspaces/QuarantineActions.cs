namespace Workspaces.Daemon.Workspaces;

/// <summary>What a quarantine does to a workspace.</summary>
public static class QuarantineActions
{
    /// <summary>Its traffic may reach its own gateway and DHCP, nothing else (nftables rules; the guest keeps running).</summary>
    public const string Isolate = "isolate";
    public const string Pause = "pause";
    public const string Stop = "stop";

    public static bool IsOne(string action) => action is Isolate or Pause or Stop;
}
