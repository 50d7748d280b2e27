using System.Globalization;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Writes a playground's identity document from what is recorded now and checks documents against the
/// keys this host pins: its own and its peers', each under its host's name. Each member's entry is
/// signed by the host that runs it: this host signs its own members (their MACs and leased addresses
/// here); a member on a peer carries the entry that peer signed (PlaygroundPeerEntries, checked before
/// it is taken). This host then signs the whole, as the host that applied the playground.
/// </summary>
public sealed class PlaygroundIdentityIssuer(
    PlaygroundRepository playgrounds,
    NetworkService networks,
    PeerDirectory peers,
    PlaygroundPeerEntries entries,
    HostIdentity host,
    TimeProvider time)
{
    public async Task<string> IssueAsync(string playground, CancellationToken ct)
    {
        var all = playgrounds.Members(playground);
        var local = all.Where(m => m.Host is null).Select(m =>
        {
            var nic = networks.NicOf(m.WorkspaceId);
            var member = new PlaygroundIdentityMember(playground, m.Name, m.Role, m.Idx, peers.Name, host.SigningPublicKey, nic?.Mac ?? "", nic?.Address ?? "");
            return PlaygroundIdentityCodec.SignMember(member, host);
        });
        var remote = await entries.FetchAsync(playground, all.Where(m => m.Host is not null).ToList(), ct);
        var members = local.Concat(remote).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        string subnet = networks.List().FirstOrDefault(n => n.Name == playground)?.Subnet ?? "";
        string issuedAt = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        return PlaygroundIdentityCodec.Sign(new PlaygroundIdentity(playground, subnet, issuedAt, peers.Name, host.SigningPublicKey, members), host);
    }

    /// <summary>The keys a document's signers must hold, by host name: this host's and every joined peer's.</summary>
    public IReadOnlyDictionary<string, string> PinnedKeys()
    {
        var keys = peers.List().Where(p => p.SigningKey is not null)
            .ToDictionary(p => p.Name, p => KeyText.NormalizeSigning(p.SigningKey!), StringComparer.Ordinal);
        keys[peers.Name] = host.SigningPublicKey;
        return keys;
    }

    public PlaygroundIdentityCheck Verify(string document) => PlaygroundIdentityCodec.Verify(document, PinnedKeys());
}
