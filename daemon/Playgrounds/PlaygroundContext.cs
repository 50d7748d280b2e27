using System.Text;
using Workspaces.Client;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Mutual contextualization through the guest agent: every running member gets /etc/hosts naming all
/// members by their addresses on the playground's network, and /etc/playground (its playground, role
/// and index, as shell variables). Written again after each apply, so members learn of one added
/// (and forget one removed) without a reboot. A member whose agent does not answer is logged and left.
/// </summary>
public sealed class PlaygroundContext(
    PlaygroundRepository playgrounds,
    WorkspaceRepository workspaces,
    NetworkService networks,
    WorkspaceAgent agents,
    ILogger<PlaygroundContext> logger)
{
    /// <summary>How long a member just started has for its agent to answer (a TCG guest boots slowly).</summary>
    public static readonly TimeSpan AgentWait = TimeSpan.FromMinutes(3);

    public async Task SpreadAsync(string playground, CancellationToken ct)
    {
        var members = playgrounds.Members(playground)
            .Select(m => (Member: m, Row: workspaces.FindById(m.WorkspaceId), Address: networks.NicOf(m.WorkspaceId)?.Address)).ToList();
        string hosts = Hosts(playground, members.Where(m => m.Address is not null).Select(m => (m.Member.Name, m.Address!)));
        await Task.WhenAll(members.Where(m => m.Row?.State == WorkspaceStates.Running)
            .Select(m => WriteAsync(m.Row!, hosts, Identity(playground, m.Member), ct)));
    }

    /// <summary>/etc/hosts for a member: localhost, then every member with an address, by name.</summary>
    public static string Hosts(string playground, IEnumerable<(string Name, string Address)> members)
    {
        var text = new StringBuilder("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        text.Append($"# playground {playground} (written by workspacesd; rewritten when members change)\n");
        foreach (var (name, address) in members.OrderBy(m => m.Name, StringComparer.Ordinal)) text.Append($"{address}\t{name}\n");
        return text.ToString();
    }

    private static string Identity(string playground, PlaygroundMemberRow member) =>
        $"PLAYGROUND={playground}\nROLE={member.Role}\nINDEX={member.Idx}\nMEMBER={member.Name}\n";

    private async Task WriteAsync(WorkspaceRow row, string hosts, string identity, CancellationToken ct)
    {
        try
        {
            await agents.WaitAsync(row, AgentWait, ct);
            var agent = agents.Of(row);
            await GuestFileTransfer.CopyInAsync(agent, "/etc/hosts", new MemoryStream(Encoding.UTF8.GetBytes(hosts)), ct);
            await GuestFileTransfer.CopyInAsync(agent, "/etc/playground", new MemoryStream(Encoding.UTF8.GetBytes(identity)), ct);
        }
        catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException)
        {
            PlaygroundLog.NotContextualized(logger, row.Name, e.Message);
        }
    }
}
