using System.Globalization;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Writes a playground's identity document from what is recorded now (members, their MACs and leased
/// addresses) and checks documents against the keys this host pins: its own and its peers'. Every
/// member here runs on this host, so this host signs each member's entry as well as the whole; a
/// member on a peer would carry the entry its own host signed (PlaygroundIdentityCodec.SignMember there).
/// </summary>
public sealed class PlaygroundIdentityIssuer(
    PlaygroundRepository playgrounds,
    NetworkService networks,
    PeerDirectory peers,
    HostIdentity host,
    TimeProvider time)
{
    public string Issue(string playground)
    {
        var members = playgrounds.Members(playground).Select(m =>
        {
            var nic = networks.NicOf(m.WorkspaceId);
            var member = new PlaygroundIdentityMember(playground, m.Name, m.Role, m.Idx, peers.Name, host.SigningPublicKey, nic?.Mac ?? "", nic?.Address ?? "");
            return PlaygroundIdentityCodec.SignMember(member, host);
        }).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        string subnet = networks.List().FirstOrDefault(n => n.Name == playground)?.Subnet ?? "";
        string issuedAt = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        return PlaygroundIdentityCodec.Sign(new PlaygroundIdentity(playground, subnet, issuedAt, peers.Name, host.SigningPublicKey, members), host);
    }

    /// <summary>The keys a document's signers must be among: this host's and every joined peer's.</summary>
    public IReadOnlyCollection<string> PinnedKeys() =>
        peers.List().Where(p => p.SigningKey is not null).Select(p => KeyText.NormalizeSigning(p.SigningKey!))
            .Append(host.SigningPublicKey).ToHashSet(StringComparer.Ordinal);

    public PlaygroundIdentityCheck Verify(string document) => PlaygroundIdentityCodec.Verify(document, PinnedKeys());
}
