using Workspaces.Client;

namespace Workspaces.Testing;

/// <summary>A playground's members across peer hosts, as tests reach them (hosts[0] applied it).</summary>
public static class PlaygroundMembers
{
    /// <summary>The name a playground gives the applying host's own members' host.</summary>
    public const string ThisHost = "this host";

    public static DaemonProcess DaemonOf(PeerHosts hosts, PlaygroundMemberInfo member) =>
        member.Host == ThisHost ? hosts[0].Daemon : hosts.Hosts.Single(h => h.Name == member.Host).Daemon;

    /// <summary>Every member pings every other by name: /etc/hosts names them all, on every host.</summary>
    public static async Task PingAllAsync(PeerHosts hosts, PlaygroundInfo playground)
    {
        foreach (var m in playground.Members)
            foreach (var other in playground.Members.Where(o => o.Name != m.Name))
                await GuestShell.RunAsync(DaemonOf(hosts, m), m.Name, $"ping -c 1 -W 5 {other.Name}", TimeSpan.FromSeconds(60));
    }
}
