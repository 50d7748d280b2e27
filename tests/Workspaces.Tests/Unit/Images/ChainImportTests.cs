using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Images;

/// <summary>What a pull would fetch for a chain: only the blobs of the images this host lacks that the cache lacks too.</summary>
public sealed class ChainImportTests
{
    private static ImageManifest Manifest(string name, string kernel, string initrd, string? parent) => ImageManifest.From(new ImageRow
    {
        Id = ImageFingerprint.Compute(kernel, initrd, null, null, name), Name = name, Kind = "bootset", Kernel = kernel, Initrd = initrd,
        Cmdline = name, Size = 1, Parent = parent, CreatedAt = 1,
    });

    private static ChainMetadata Chain(string top, params ImageManifest[] manifests) =>
        new(top, manifests.ToDictionary(m => m.Id), new Dictionary<string, List<SignatureRow>>(), new Dictionary<string, List<ImageKeyRow>>());

    [Fact]
    public async Task Only_blobs_of_missing_images_the_cache_lacks_are_missing()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        var here = await daemon.ImportBootSetAsync();
        var chains = daemon.Get<ChainImport>();
        string newKernel = new('1', 64), newInitrd = new('2', 64);
        var middle = Manifest("middle", here.Kernel!, newInitrd, here.Id); // shares the kernel blob we hold
        var top = Manifest("top", newKernel, newInitrd, middle.Id);

        Assert.Equal([middle.Id, top.Id], chains.Missing(Chain(top.Id, top, middle), "the pulled image is refused").Select(m => m.Id));
        Assert.Equal([newInitrd, newKernel], chains.MissingBlobs(Chain(top.Id, top, middle), "the pulled image is refused"));
        Assert.Empty(chains.MissingBlobs(Chain(here.Id), "the pulled image is refused"));

        var lacking = Assert.Throws<WorkspacesException>(() => chains.MissingBlobs(Chain(top.Id, top), "the pulled image is refused"));
        Assert.StartsWith($"the pulled image is refused: it lacks the manifest of image {middle.Id[..12]}", lacking.Message);
    }

    [Fact]
    public async Task Manifests_that_name_each_other_as_parents_are_refused()
    {
        using var machine = new TestMachine();
        await using var daemon = InProcessDaemon.Start(machine);
        string a = ImageFingerprint.Compute(new string('1', 64), new string('2', 64), null, null, "a");
        string b = ImageFingerprint.Compute(new string('3', 64), new string('4', 64), null, null, "b");
        var loop = Chain(a, Manifest("a", new string('1', 64), new string('2', 64), b), Manifest("b", new string('3', 64), new string('4', 64), a));

        var refused = Assert.Throws<WorkspacesException>(() => daemon.Get<ChainImport>().Missing(loop, "the pulled image is refused"));

        Assert.Equal(422, refused.Status);
        Assert.Contains("deeper than 64", refused.Message);
    }
}
