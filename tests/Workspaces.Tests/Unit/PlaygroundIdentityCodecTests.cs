using System.Text;
using Workspaces.Daemon.Playgrounds;
using Workspaces.Daemon.Trust;

namespace Workspaces.Tests.Unit;

/// <summary>
/// The playground identity document: members signed by their hosts, the whole by the host that applied
/// it. A document verifies against pinned keys; any changed byte, an unpinned signer, a member lifted
/// from another playground or a non-canonical spelling is refused, naming what failed.
/// </summary>
public sealed class PlaygroundIdentityCodecTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgid-").FullName;
    private readonly HostIdentity _a;
    private readonly HostIdentity _b;

    public PlaygroundIdentityCodecTests()
    {
        _a = new HostIdentity(Path.Combine(_dir, "a"));
        _b = new HostIdentity(Path.Combine(_dir, "b"));
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static PlaygroundIdentityMember Member(HostIdentity host, string hostName, int index, string playground = "lab") =>
        PlaygroundIdentityCodec.SignMember(new PlaygroundIdentityMember(playground, $"lab-node-{index}", "node", index, hostName, host.SigningPublicKey,
            $"52:54:00:00:00:0{index}", $"10.77.0.{10 + index}"), host);

    /// <summary>Two members on host a, one on host b; the playground applied (and signed) by a.</summary>
    private string Document(params PlaygroundIdentityMember[] extra) => PlaygroundIdentityCodec.Sign(new PlaygroundIdentity("lab", "10.77.0.0/24",
        "2026-11-27T01:00:00Z", "alpha", _a.SigningPublicKey, [Member(_a, "alpha", 1), Member(_a, "alpha", 2), Member(_b, "beta", 3), .. extra]), _a);

    private Dictionary<string, string> Both => new() { ["alpha"] = _a.SigningPublicKey, ["beta"] = _b.SigningPublicKey };

    [Fact]
    public void A_document_signed_by_pinned_hosts_verifies_and_says_what_it_names()
    {
        var check = PlaygroundIdentityCodec.Verify(Document(), Both);
        Assert.True(check.Valid, string.Join("; ", check.Problems));
        Assert.Equal(["lab-node-1", "lab-node-2", "lab-node-3"], check.Identity!.Members.Select(m => m.Name));
        Assert.Equal("beta", check.Identity.Members[2].Host);
        Assert.Equal(_b.SigningPublicKey, check.Identity.Members[2].HostKey);
        Assert.Equal("10.77.0.12", check.Identity.Members[1].Address);
    }

    [Fact]
    public void A_changed_address_fails_naming_the_member_and_the_playground()
    {
        string tampered = Document().Replace("10.77.0.12", "10.77.0.99");
        var check = PlaygroundIdentityCodec.Verify(tampered, Both);
        Assert.False(check.Valid);
        Assert.Equal(2, check.Problems.Count); // the member's own signature, and the playground's over it
        Assert.Contains(check.Problems, p => p.StartsWith("member lab-node-2 (host alpha): the signature does not match", StringComparison.Ordinal));
        Assert.Contains(check.Problems, p => p.StartsWith("the playground lab (applied by host alpha): the signature does not match", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_single_byte_change_is_refused()
    {
        byte[] good = Encoding.UTF8.GetBytes(Document());
        for (int i = 0; i < good.Length; i++)
        {
            byte[] bad = (byte[])good.Clone();
            bad[i] ^= 0x01;
            var check = PlaygroundIdentityCodec.Verify(Encoding.UTF8.GetString(bad), Both);
            Assert.False(check.Valid, $"flipping a bit of byte {i} ('{(char)good[i]}') still verified");
            Assert.NotEmpty(check.Problems);
        }
    }

    [Fact]
    public void A_signer_that_is_not_pinned_is_named()
    {
        var check = PlaygroundIdentityCodec.Verify(Document(), new Dictionary<string, string> { ["alpha"] = _a.SigningPublicKey });
        Assert.False(check.Valid);
        var problem = Assert.Single(check.Problems);
        Assert.StartsWith("member lab-node-3 (host beta): host beta is neither this host nor a known peer (signed by host key " + _b.SigningPublicKey, problem);
    }

    [Fact]
    public void A_member_signed_by_a_pinned_key_that_is_not_its_hosts_is_refused()
    {
        // alpha signs, validly, an entry that says host beta runs the member: beta's pinned key did not sign it.
        var claimed = Member(_a, "beta", 3);
        string document = PlaygroundIdentityCodec.Sign(new PlaygroundIdentity("lab", "10.77.0.0/24", "2026-11-27T01:00:00Z", "alpha",
            _a.SigningPublicKey, [Member(_a, "alpha", 1), claimed]), _a);
        var check = PlaygroundIdentityCodec.Verify(document, Both);
        Assert.False(check.Valid);
        Assert.Equal($"member lab-node-3 (host beta): signed by host key {KeyText.Fingerprint(_a.SigningPublicKey)}, but the key pinned for host beta is {KeyText.Fingerprint(_b.SigningPublicKey)}",
            Assert.Single(check.Problems));
    }

    [Fact]
    public void A_member_signed_for_another_playground_is_refused()
    {
        var foreign = Member(_b, "beta", 4, playground: "other");
        var check = PlaygroundIdentityCodec.Verify(Document(foreign), Both);
        Assert.False(check.Valid);
        Assert.Equal(["member lab-node-4 (host beta) is signed as a member of playground other, not lab"], check.Problems);
    }

    [Fact]
    public void A_member_signed_by_another_host_than_the_one_it_names_is_refused()
    {
        // b signs an entry claiming to be a's: re-labelled after signing, so the key it names did not sign it.
        var forged = Member(_b, "beta", 3) with { HostKey = _a.SigningPublicKey, Host = "alpha" };
        string document = PlaygroundIdentityCodec.Sign(new PlaygroundIdentity("lab", "10.77.0.0/24", "2026-11-27T01:00:00Z", "alpha",
            _a.SigningPublicKey, [Member(_a, "alpha", 1), forged]), _a);
        var check = PlaygroundIdentityCodec.Verify(document, Both);
        Assert.False(check.Valid);
        Assert.Equal("member lab-node-3 (host alpha): the signature does not match its content under host key "
            + KeyText.Fingerprint(_a.SigningPublicKey) + ": it was altered or signed by another host", Assert.Single(check.Problems));
    }

    [Fact]
    public void Another_spelling_of_the_same_content_is_refused()
    {
        string spaced = Document().Replace("\"name\":\"lab\"", "\"name\": \"lab\"");
        var check = PlaygroundIdentityCodec.Verify(spaced, Both);
        Assert.False(check.Valid);
        Assert.StartsWith("not a playground identity document: it is not in canonical form", Assert.Single(check.Problems));
        Assert.False(PlaygroundIdentityCodec.Verify(Document().Insert(1, "\"extra\":1,"), Both).Valid);
    }
}
