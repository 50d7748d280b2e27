using System.Text.Json;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>The image Factory on real guests: checkin, copy, flatten, prune, and the integrity gate.</summary>
public sealed class FactoryTests
{
    [Fact]
    public async Task Checkin_makes_a_signed_delta_that_carries_the_guests_file()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        var base_ = await GuestImages.ImportAsync(client);

        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("maker", "guest", Cmdline: await GuestImages.CmdlineWithMarkAsync("made-in-maker")));
        await client.ActAndWaitAsync("maker", "start");
        await daemon.WaitForConsoleAsync("maker", "WORKSPACE-READY boot=1");
        await client.ActAndWaitAsync("maker", "stop");

        // Checkin needs the disk at rest: a running workspace is refused with what is allowed.
        var derived = await client.CheckinAsync("maker", new CheckinRequest("derived"));
        Assert.Equal(base_.Id, derived.Parent);
        Assert.Equal("maker", derived.OriginWorkspace);
        Assert.Equal("derived", (await client.GetWorkspaceAsync("maker")).ImageName); // it continues from what it became

        var manifest = await client.GetManifestAsync("derived");
        Assert.Equal(["derived", "guest"], manifest.Chain.Select(c => c.Name));
        using (var doc = JsonDocument.Parse(manifest.Manifest))
        {
            Assert.Equal(base_.Id, doc.RootElement.GetProperty("parent").GetString());
            Assert.Equal("maker", doc.RootElement.GetProperty("origin").GetProperty("workspace").GetString());
        }
        var signature = Assert.Single(manifest.Signatures);
        Assert.True(signature.Valid);
        Assert.Equal("host", signature.TrustedAs);

        // The delta is a qcow2 whose backing file is its parent's disk, named by hash.
        string blob = Path.Combine(daemon.StateDir, "images", derived.Disk!);
        Assert.Contains($"\"backing-filename\": \"{base_.Disk}\"", (await Processes.RunAsync("qemu-img", ["info", "--output=json", blob])).Stdout);
        Assert.True(new FileInfo(blob).Length < new FileInfo(Path.Combine(daemon.StateDir, "images", base_.Disk!)).Length * 4);

        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("child", "derived"));
        await client.ActAndWaitAsync("child", "start");
        string console = await daemon.WaitForConsoleAsync("child", "WORKSPACE-READY boot=2"); // the counter came along too
        Assert.Contains("WORKSPACE-MARKERS made-in-maker", console);

        var report = await client.VerifyImageAsync("derived");
        Assert.True(report.Intact, string.Join("; ", report.Problems));
        Assert.True(report.Admitted);

        // A used image, and a parent a delta needs, cannot be removed; prune keeps both.
        var used = await Assert.ThrowsAsync<ApiException>(() => client.DeleteImageAsync("derived"));
        Assert.Equal(409, used.Status);
        Assert.Contains("workspace child", used.Message);
        await client.DeleteWorkspaceAsync("child", force: true);
        await client.DeleteWorkspaceAsync("maker");
        var parent = await Assert.ThrowsAsync<ApiException>(() => client.DeleteImageAsync("guest"));
        Assert.Contains("image derived", parent.Message);

        var pruned = await client.PruneImagesAsync();
        Assert.Equal(["derived", "guest"], pruned.Removed.Order()); // the delta first freed, then its parent
        Assert.True(pruned.FreedBytes > 0);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(daemon.StateDir, "images")));
    }

    [Fact]
    public async Task Copy_and_flatten_keep_the_disk_and_tags_protect_from_prune()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("orig", "guest", Cmdline: await GuestImages.CmdlineWithMarkAsync("orig-file")));
        await client.ActAndWaitAsync("orig", "start");
        await daemon.WaitForConsoleAsync("orig", "WORKSPACE-READY boot=1");

        var running = await Assert.ThrowsAsync<ApiException>(() => client.CopyWorkspaceAsync("orig", "twin"));
        Assert.Equal(409, running.Status);
        await client.ActAndWaitAsync("orig", "stop");

        var twin = await client.CopyWorkspaceAsync("orig", "twin");
        var orig = await client.GetWorkspaceAsync("orig");
        Assert.NotEqual(orig.Id, twin.Id);
        Assert.Equal((orig.Image, orig.MemoryMiB, orig.Cmdline), (twin.Image, twin.MemoryMiB, twin.Cmdline));
        await client.ActAndWaitAsync("twin", "start");
        Assert.Contains("WORKSPACE-MARKERS orig-file", await daemon.WaitForConsoleAsync("twin", "WORKSPACE-READY boot=2"));
        await client.DeleteWorkspaceAsync("twin", force: true);

        // A refused checkin leaves the workspace's disk where it was (the flattened image below still carries its file).
        var taken = await Assert.ThrowsAsync<ApiException>(() => client.CheckinAsync("orig", new CheckinRequest("guest")));
        Assert.Contains("already exists", taken.Message);
        await client.CheckinAsync("orig", new CheckinRequest("layer", Tags: ["stable"]));
        var flat = await client.FlattenImageAsync("layer", new FlattenRequest("flat"));
        Assert.Null(flat.Parent);
        Assert.DoesNotContain("backing-filename", (await Processes.RunAsync("qemu-img", ["info", "--output=json", Path.Combine(daemon.StateDir, "images", flat.Disk!)])).Stdout);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("fromflat", "flat"));
        await client.ActAndWaitAsync("fromflat", "start");
        Assert.Contains("WORKSPACE-MARKERS orig-file", await daemon.WaitForConsoleAsync("fromflat", "WORKSPACE-READY boot=2"));
        await client.DeleteWorkspaceAsync("fromflat", force: true);
        await client.DeleteWorkspaceAsync("orig");

        var pruned = await client.PruneImagesAsync();
        Assert.Equal(["flat"], pruned.Removed); // "layer" is tagged, and "guest" is its parent
        Assert.Equal(["guest", "layer"], (await client.ListImagesAsync()).Select(i => i.Name).Order());
    }

    [Fact]
    public async Task A_flipped_byte_in_a_cached_image_is_refused_at_the_next_launch()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        var image = await GuestImages.ImportAsync(client);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("before", "guest")); // verified and recorded: O(1) from now on

        string blob = Path.Combine(daemon.StateDir, "images", image.Disk!);
        await using (var file = new FileStream(blob, FileMode.Open, FileAccess.ReadWrite)) // an ordinary write, as root
        {
            file.Position = 70_000;
            int old = file.ReadByte();
            file.Position = 70_000;
            file.WriteByte((byte)(old ^ 0xff));
        }

        var refused = await Assert.ThrowsAsync<ApiException>(() => client.CreateWorkspaceAsync(new CreateWorkspaceRequest("after", "guest")));
        Assert.Equal(409, refused.Status);
        Assert.Contains("image 'guest'", refused.Message);
        Assert.Contains($"should hash to {image.Disk![..12]}", refused.Message);
        var start = await Assert.ThrowsAsync<ApiException>(() => client.ActAndWaitAsync("before", "start"));
        Assert.Contains("image 'guest' is damaged", start.Message);
        Assert.Empty(daemon.QemuPids());

        var all = await client.VerifyAllImagesAsync();
        Assert.False(Assert.Single(all).Intact);
    }
}
