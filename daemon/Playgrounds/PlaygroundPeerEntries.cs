using System.Net.Http.Json;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// The applying host's side of members on peers, on the pinned peer channel: it names each member to
/// its host (which records it, PlaygroundHostedMembers) and asks each host for the entries it signed.
/// An entry is taken only if it is the member recorded here (playground, name, role, index), names
/// the host asked, carries that host's pinned key and its signature holds; a missing or forged entry
/// refuses the document, naming the member and its host.
/// </summary>
public sealed class PlaygroundPeerEntries(PeerDirectory directory, PeerChannel channel)
{
    public static string MembersPath(string playground) => $"v1/peer/playgrounds/{Uri.EscapeDataString(playground)}/members";

    public static string IdentityPath(string playground) => $"v1/peer/playgrounds/{Uri.EscapeDataString(playground)}/identity";

    public async Task RecordAsync(string peer, string playground, PlaygroundMember member, CancellationToken ct)
    {
        var row = directory.Get(peer);
        using var response = await PeerCall.SendAsync(channel.For(row.Address, row.TlsFingerprint), peer, new HttpRequestMessage(HttpMethod.Post, MembersPath(playground))
        {
            Content = JsonContent.Create(new PeerPlaygroundMember(member.Name, member.Role.Name, member.Index), WorkspacesJson.Default.PeerPlaygroundMember),
        }, ct);
    }

    /// <summary>Every remote member's entry, as its host signed it, checked; in the order of members.</summary>
    public async Task<IReadOnlyList<PlaygroundIdentityMember>> FetchAsync(string playground, IReadOnlyList<PlaygroundMemberRow> remote, CancellationToken ct)
    {
        var byHost = await Task.WhenAll(remote.GroupBy(m => m.Host!).Select(async g =>
        {
            var peer = directory.Get(g.Key);
            PeerPlaygroundEntry[] entries;
            try
            {
                entries = await PeerCall.GetAsync(channel.For(peer.Address, peer.TlsFingerprint), peer.Name, IdentityPath(playground),
                    WorkspacesJson.Default.PeerPlaygroundEntryArray, ct);
            }
            catch (WorkspacesException e)
            {
                throw new WorkspacesException(502, "Member not signed", $"host {peer.Name} did not sign its member(s) {string.Join(", ", g.Select(m => m.Name))} of playground {playground}: {e.Message}");
            }
            return g.Select(m => Check(playground, m, peer, entries)).ToList();
        }));
        return byHost.SelectMany(e => e).ToList();
    }

    internal static PlaygroundIdentityMember Check(string playground, PlaygroundMemberRow member, PeerRow peer, PeerPlaygroundEntry[] entries)
    {
        string who = $"member {member.Name} of playground {playground} on host {peer.Name}";
        var found = entries.Where(e => e.Name == member.Name).ToList();
        if (found.Count != 1)
            throw new WorkspacesException(502, "Member not signed", found.Count == 0
                ? $"{who}: its host signed no entry for it (it does not host it for this playground, or no longer has it)"
                : $"{who}: its host answered {found.Count} entries for it");
        var e = found[0];
        var entry = new PlaygroundIdentityMember(e.Playground, e.Name, e.Role, e.Index, e.Host, e.HostKey, e.Mac, e.Address, e.Signature);
        string? wrong = e.Playground != playground ? $"it is signed as a member of playground {e.Playground}"
            : e.Role != member.Role || e.Index != member.Idx ? $"it is signed as member {e.Index} of role {e.Role}, recorded here as member {member.Idx} of role {member.Role}"
            : e.Host != peer.Name ? $"it names host {e.Host}, which this host knows as {peer.Name}"
            : peer.SigningKey is null || !SameKey(e.HostKey, peer.SigningKey) ? $"it is signed with key {KeyText.Fingerprint(e.HostKey)}, not the key pinned for {peer.Name}"
            : !PlaygroundIdentityCodec.MemberSignatureHolds(entry) ? "its signature does not match its content under its host's key"
            : null;
        return wrong is null ? entry : throw new WorkspacesException(502, "Member not signed", $"{who}: refused: {wrong}");
    }

    private static bool SameKey(string a, string b)
    {
        try { return KeyText.NormalizeSigning(a) == KeyText.NormalizeSigning(b); }
        catch (WorkspacesException) { return false; }
    }
}
