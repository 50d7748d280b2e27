using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>Checkin as a recorded transaction: a crash at any step loses no disk; sealing a plain lineage on the way in.</summary>
public sealed class CheckinTests
{
    [Theory]
    [InlineData("checkin.recorded", false)]
    [InlineData("checkin.placed", false)]
    [InlineData("checkin.registered", true)]
    [InlineData("checkin.overlay-made", true)]
    [InlineData("checkin.swapped", true)]
    public async Task A_crash_at_any_step_of_checkin_loses_no_disk_and_frees_no_needed_image(string step, bool registered)
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await BootOnceAsync(daemon, "w", "kept");

        // The daemon dies (SIGKILL) at the step, mid-request.
        await daemon.KillAsync();
        daemon.Environment["WORKSPACES_CRASH_AT"] = step;
        await daemon.StartAsync();
        var lost = await Record.ExceptionAsync(() => client.CheckinAsync("w", new CheckinRequest("made")));
        Assert.True(lost is HttpRequestException or IOException, $"the checkin should have lost its daemon, not {lost?.GetType().Name ?? "succeeded"}: {lost?.Message}");
        await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30));
        daemon.Environment.Clear();
        await daemon.StartAsync(); // recovery runs here

        var images = (await client.ListImagesAsync()).Select(i => i.Name).Order().ToArray();
        var w = await client.GetWorkspaceAsync("w");
        Assert.Equal(registered ? ["guest", "made"] : ["guest"], images);
        Assert.Equal(registered ? "made" : "guest", w.ImageName);
        string overlay = daemon.Layout.Overlay(w.Id);
        Assert.False(File.Exists(overlay + ".next"));
        Assert.Equal(UnixFileMode.UserWrite, File.GetUnixFileMode(overlay) & UnixFileMode.UserWrite);
        // No blob in the cache is left without an image, and the workspace's disk is no blob.
        var blobs = Directory.EnumerateFiles(Path.Combine(daemon.StateDir, "images")).Select(f => Path.GetFileName(f)).ToHashSet();
        var used = (await client.ListImagesAsync()).SelectMany(i => new[] { i.Disk, i.Kernel, i.Initrd }).OfType<string>().ToHashSet();
        Assert.Equal(used, blobs);

        // What the workspace stands on cannot be removed, by rm or by prune.
        var rm = await Assert.ThrowsAsync<ApiException>(() => client.DeleteImageAsync(w.ImageName));
        Assert.Equal(409, rm.Status);
        await client.PruneImagesAsync();
        Assert.Equal(images, (await client.ListImagesAsync()).Select(i => i.Name).Order().ToArray());

        // And it boots with its data: the marker of the first boot and the boot counter.
        await client.ActAndWaitAsync("w", "start");
        string console = await daemon.WaitForConsoleAsync("w", "WORKSPACE-READY boot=2");
        Assert.Contains("WORKSPACE-MARKERS kept", console);
        if (registered) Assert.True((await client.VerifyImageAsync("made")).Intact);
    }

    [Fact]
    public async Task Checkin_with_encrypt_seals_a_plain_lineage_and_the_child_boots_with_the_data()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await BootOnceAsync(daemon, "plain", "sealed-in");

        var made = await client.CheckinAsync("plain", new CheckinRequest("sealed", Encrypt: true));
        Assert.True(made.Encrypted);
        string blob = Path.Combine(daemon.StateDir, "images", made.Disk!);
        Assert.Contains("\"encrypted\": true", (await Processes.RunAsync("qemu-img", ["info", "--output=json", "-U", blob])).Stdout);
        Assert.DoesNotContain("sealed-in", await File.ReadAllTextAsync(blob));

        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("child", "sealed"));
        await client.ActAndWaitAsync("child", "start");
        Assert.Contains("WORKSPACE-MARKERS sealed-in", await daemon.WaitForConsoleAsync("child", "WORKSPACE-READY boot=2"));
        Assert.True((await client.VerifyImageAsync("sealed")).Intact);

        // The QMP conversation is kept beside the workspace, with the disk's secret handed over but not written down.
        string qmp = await File.ReadAllTextAsync(daemon.Layout.Guest((await client.GetWorkspaceAsync("child")).Id).QmpLog);
        Assert.Contains("\"qom-type\":\"secret\"", qmp);
        Assert.Contains("\"data\":\"(secret, not logged)\"", qmp);
        Assert.Matches("-> \\{\"execute\":\"cont\"", qmp);
        Assert.Contains("<- {\"return\"", qmp);
    }

    /// <summary>A stopped workspace of the test guest whose disk holds a marker word and one boot.</summary>
    private static async Task BootOnceAsync(DaemonProcess daemon, string name, string mark)
    {
        await daemon.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "guest", Cmdline: await GuestImages.CmdlineWithMarkAsync(mark)));
        await daemon.Client.ActAndWaitAsync(name, "start");
        await daemon.WaitForConsoleAsync(name, "WORKSPACE-READY boot=1");
        await daemon.Client.ActAndWaitAsync(name, "stop");
    }
}
