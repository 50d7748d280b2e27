using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// The peer's side of a playground another host applied: the members it hosts are recorded here when
/// the applying host names them (after making them through the proxy), and only those are signed,
/// with this host's key, MAC and leased address, for that playground and that applying host. The
/// record goes with the workspace: a member removed here (by its applying host or by this host's own
/// admin) is no longer signed, and the applying host sees it lost.
/// </summary>
public sealed class PlaygroundHostedMembers(
    PlaygroundHostedRepository hosted,
    WorkspaceRepository workspaces,
    NetworkService networks,
    PeerDirectory directory,
    HostIdentity host,
    ILogger<PlaygroundHostedMembers> logger)
{
    /// <summary>Records a workspace made through the proxy (owned as the proxy makes them) as the applying peer's member.</summary>
    public void Record(string playground, string appliedBy, PeerPlaygroundMember member)
    {
        Names.CheckNetwork(playground); // a playground is named as its network is
        var row = workspaces.Find(Caller.System.Namespace, member.Name)
            ?? throw WorkspacesException.NotFound($"no workspace named {Names.Quote(member.Name)} on this host to be a member of playground {Names.Quote(playground)}");
        // Only a workspace on the playground's own network, spanned with the calling peer, can be its member:
        // a peer cannot have this host sign one of its other workspaces into a playground.
        bool onItsSpan = networks.NicOf(row.Id)?.Network == playground
            && networks.List().FirstOrDefault(n => n.Name == playground) is { Spanning: true } net && net.SpanPeers.Contains(appliedBy);
        if (!onItsSpan)
            throw WorkspacesException.Conflict($"workspace {Names.Quote(member.Name)} is not on network {Names.Quote(playground)} spanned with peer '{appliedBy}': it cannot be a member of that playground");
        var wanted = new PlaygroundHostedMemberRow { WorkspaceId = row.Id, Playground = playground, AppliedBy = appliedBy, Name = row.Name, Role = member.Role, Idx = member.Index,
            RecordedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        if (hosted.Find(row.Id) is { } had)
        {
            if (had.Playground == playground && had.AppliedBy == appliedBy && had.Role == member.Role && had.Idx == member.Index) return; // asked again
            throw WorkspacesException.Conflict($"workspace {Names.Quote(member.Name)} is already member {had.Idx} of role {had.Role} of playground {had.Playground} applied by {had.AppliedBy}");
        }
        hosted.Add(wanted);
        PlaygroundTrustLog.Hosted(logger, playground, appliedBy, member.Name);
    }

    /// <summary>The entries of the members this host runs for that playground and applying host, each signed here.</summary>
    public PeerPlaygroundEntry[] Sign(string playground, string appliedBy) =>
        hosted.Of(playground, appliedBy).Select(m =>
        {
            var nic = networks.NicOf(m.WorkspaceId);
            var signed = PlaygroundIdentityCodec.SignMember(
                new PlaygroundIdentityMember(playground, m.Name, m.Role, m.Idx, directory.Name, host.SigningPublicKey, nic?.Mac ?? "", nic?.Address ?? ""), host);
            return new PeerPlaygroundEntry(signed.Playground, signed.Name, signed.Role, signed.Index, signed.Host, signed.HostKey, signed.Mac, signed.Address, signed.Signature);
        }).ToArray();

    /// <summary>The playgrounds other hosts applied that this host holds members of: (playground, applying host) and those members.</summary>
    public IEnumerable<IGrouping<(string Playground, string AppliedBy), PlaygroundHostedMemberRow>> Groups() =>
        hosted.List().GroupBy(m => (m.Playground, m.AppliedBy));

    /// <summary>Whether the caller sees a hosted member: admins, and the owner of its workspace.</summary>
    public bool Visible(PlaygroundHostedMemberRow member, Caller caller) =>
        caller.IsAdmin || workspaces.FindById(member.WorkspaceId)?.Owner == caller.Namespace;
}
