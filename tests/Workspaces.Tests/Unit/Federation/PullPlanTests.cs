using System.Text;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;

namespace Workspaces.Tests.Unit.Federation;

/// <summary>What a pull takes from peers' inventories: the image they describe only as its manifest proves it is, and who holds which blob.</summary>
public sealed class PullPlanTests
{
    private static readonly HttpClient Unused = new();
    private static readonly PullSource Host1 = new("host1", Unused), Host2 = new("host2", Unused);

    private static ImageManifest Manifest(string name, string kernel, string? parent = null) => ImageManifest.From(new ImageRow
    {
        Id = ImageFingerprint.Compute(kernel, null, null, null, name), Name = name, Kind = "bootset", Kernel = kernel,
        Cmdline = name, Size = 10, Parent = parent, CreatedAt = 1,
    });

    private static PeerImageEntry Entry(ImageManifest m, string? text = null, long size = 10) =>
        new(m.Id, m.Name, text ?? Encoding.UTF8.GetString(m.ToCanonicalJson()), [], [], [new PeerBlobInfo(m.Kernel!, size)]);

    [Fact]
    public void A_chain_comes_with_every_holder_of_each_blob()
    {
        var @base = Manifest("base", new string('a', 64));
        var top = Manifest("top", new string('b', 64), @base.Id);
        var plan = PullPlan.Make("top", new Dictionary<PullSource, PeerImageEntry[]>
        {
            [Host1] = [Entry(@base), Entry(top)],
            [Host2] = [Entry(top)],
        }, []);

        Assert.Equal(top.Id, plan.Chain.Top);
        Assert.Equal([@base.Id, top.Id], plan.Chain.Manifests.Keys.Order());
        Assert.Equal(["host1", "host2"], plan.Holders[top.Kernel!].Select(h => h.Name));
        Assert.Equal(["host1"], plan.Holders[@base.Kernel!].Select(h => h.Name));
        // By a fingerprint prefix too.
        Assert.Equal(top.Id, PullPlan.Make(top.Id[..12], new Dictionary<PullSource, PeerImageEntry[]> { [Host2] = [Entry(top)] }, []).Chain.Top);
    }

    [Fact]
    public void A_peer_cannot_describe_an_image_as_other_than_it_is()
    {
        var real = Manifest("img", new string('a', 64));
        var other = Manifest("img", new string('c', 64));
        // The entry claims one fingerprint, its manifest gives another.
        var swapped = Assert.Throws<WorkspacesException>(() => PullPlan.Make("img", new Dictionary<PullSource, PeerImageEntry[]>
        {
            [Host1] = [Entry(real) with { Manifest = Encoding.UTF8.GetString(other.ToCanonicalJson()) }],
        }, []));
        Assert.Equal(422, swapped.Status);
        Assert.Contains("peer 'host1' offers as image", swapped.Message);

        // A manifest not in canonical form (its signatures could not be checked) is refused.
        string spaced = Encoding.UTF8.GetString(real.ToCanonicalJson()).Replace(",\"", ", \"");
        var loose = Assert.Throws<WorkspacesException>(() => PullPlan.Make("img", new Dictionary<PullSource, PeerImageEntry[]>
        {
            [Host1] = [Entry(real, spaced)],
        }, []));
        Assert.Equal(422, loose.Status);
        Assert.Contains("canonical", loose.Message);
    }

    [Fact]
    public void Two_images_offered_under_one_name_is_a_conflict_nobody_having_it_is_not_found_and_a_peer_not_reached_is_worth_a_retry()
    {
        var a = Manifest("img", new string('a', 64));
        var b = Manifest("img", new string('b', 64));
        var twice = Assert.Throws<WorkspacesException>(() => PullPlan.Make("img", new Dictionary<PullSource, PeerImageEntry[]>
        {
            [Host1] = [Entry(a)],
            [Host2] = [Entry(b)],
        }, []));
        Assert.Equal(409, twice.Status);

        var none = Assert.Throws<WorkspacesException>(() => PullPlan.Make("other", new Dictionary<PullSource, PeerImageEntry[]> { [Host1] = [Entry(a)] }, []));
        Assert.Equal(404, none.Status);
        var unreached = Assert.Throws<WorkspacesException>(() => PullPlan.Make("other",
            new Dictionary<PullSource, PeerImageEntry[]> { [Host1] = [Entry(a)] }, ["peer 'host2' at 10.0.0.2:8743 is unreachable"]));
        Assert.Equal(502, unreached.Status);
    }
}
