using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Playgrounds;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Tests.Unit;

/// <summary>
/// The applying host's check of the entries a peer signed for the members it runs: only the member
/// recorded here, named for that host, under the key pinned for it, with a signature that holds, is
/// taken; anything else refuses the document, naming the member, its host and what is wrong.
/// </summary>
public sealed class PlaygroundPeerEntriesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgentries-").FullName;
    private readonly HostIdentity _peer;
    private readonly HostIdentity _other;
    private readonly PeerRow _pinned;
    private readonly PlaygroundMemberRow _member = new() { Playground = "lab", Name = "lab-node-2", Role = "node", Idx = 2, Host = "beta" };

    public PlaygroundPeerEntriesTests()
    {
        _peer = new HostIdentity(Path.Combine(_dir, "peer"));
        _other = new HostIdentity(Path.Combine(_dir, "other"));
        _pinned = new PeerRow("beta", "10.0.0.2:7443", "fp", _peer.SigningPublicKey, null, 0);
    }

    public void Dispose()
    {
        _peer.Dispose();
        _other.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static PeerPlaygroundEntry Entry(HostIdentity host, string hostName = "beta", string playground = "lab", string role = "node", int index = 2)
    {
        var signed = PlaygroundIdentityCodec.SignMember(new PlaygroundIdentityMember(playground, "lab-node-2", role, index, hostName, host.SigningPublicKey,
            "52:54:00:00:00:02", "10.77.0.12"), host);
        return new PeerPlaygroundEntry(signed.Playground, signed.Name, signed.Role, signed.Index, signed.Host, signed.HostKey, signed.Mac, signed.Address, signed.Signature);
    }

    private string Refusal(params PeerPlaygroundEntry[] entries)
    {
        var e = Assert.Throws<WorkspacesException>(() => PlaygroundPeerEntries.Check("lab", _member, _pinned, entries));
        Assert.Equal(502, e.Status);
        Assert.StartsWith("member lab-node-2 of playground lab on host beta: ", e.Message);
        return e.Message;
    }

    [Fact]
    public void The_entry_the_pinned_peer_signed_for_the_recorded_member_is_taken_as_it_signed_it()
    {
        var taken = PlaygroundPeerEntries.Check("lab", _member, _pinned, [Entry(_peer)]);
        Assert.Equal(("lab-node-2", "beta", _peer.SigningPublicKey, "10.77.0.12"), (taken.Name, taken.Host, taken.HostKey, taken.Address));
        Assert.True(PlaygroundIdentityCodec.MemberSignatureHolds(taken));
    }

    [Fact]
    public void A_missing_entry_is_refused()
    {
        Assert.Contains("its host signed no entry for it", Refusal());
    }

    [Fact]
    public void An_entry_signed_by_a_key_not_pinned_for_the_peer_is_refused()
    {
        Assert.Contains($"it is signed with key {KeyText.Fingerprint(_other.SigningPublicKey)}, not the key pinned for beta", Refusal(Entry(_other)));
    }

    [Fact]
    public void An_entry_for_another_playground_role_or_host_is_refused()
    {
        Assert.Contains("it is signed as a member of playground other", Refusal(Entry(_peer, playground: "other")));
        Assert.Contains("it is signed as member 3 of role node, recorded here as member 2 of role node", Refusal(Entry(_peer, index: 3)));
        Assert.Contains("it names host gamma, which this host knows as beta", Refusal(Entry(_peer, hostName: "gamma")));
    }

    [Fact]
    public void An_entry_altered_after_its_host_signed_it_is_refused()
    {
        Assert.Contains("its signature does not match its content", Refusal(Entry(_peer) with { Address = "10.77.0.99" }));
    }
}
