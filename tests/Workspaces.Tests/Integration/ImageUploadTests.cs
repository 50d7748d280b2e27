using System.Text.Json;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// The image import README documents for the API ("POST /v1/images: multipart/form-data with name,
/// optional cmdline, files disk, kernel, initrd → 201"), sent by curl over the socket as anyone would
/// from a shell, not by our own client; and the image it makes boots.
/// </summary>
public sealed class ImageUploadTests
{
    [Fact]
    public async Task A_multipart_upload_with_curl_imports_a_boot_set_that_boots()
    {
        Prerequisites.Require("curl", "sha256sum");
        await using var daemon = await DaemonProcess.StartAsync();
        var guest = await TestGuest.GetAsync();

        var curl = await Processes.RunAsync("curl", [
            "--silent", "--show-error", "--unix-socket", daemon.Socket, "--write-out", "\n%{http_code}",
            "-F", "name=uploaded", "-F", $"cmdline={guest.Cmdline}",
            "-F", $"disk=@{guest.Disk}", "-F", $"kernel=@{guest.Kernel}", "-F", $"initrd=@{guest.Initrd}",
            "http://workspaces/v1/images"]);
        Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}: {curl.Stderr}");
        int split = curl.Stdout.LastIndexOf('\n');
        Assert.True(curl.Stdout[(split + 1)..] == "201", $"the upload was answered {curl.Stdout[(split + 1)..]}: {curl.Stdout[..split]}");
        var answered = JsonSerializer.Deserialize(curl.Stdout[..split], WorkspacesJson.Default.ImageInfo)!;

        // Stored under the hashes of exactly the bytes sent (sha256sum's word, not the daemon's), with the command line as sent.
        var image = await daemon.Client.GetImageAsync("uploaded");
        Assert.Equal(answered.Id, image.Id);
        Assert.Equal((await Sha256Async(guest.Kernel), await Sha256Async(guest.Initrd), await Sha256Async(guest.Disk)), (image.Kernel, image.Initrd, image.Disk));
        Assert.Equal(("qcow2", 64L << 20), (image.DiskFormat, image.DiskVirtualSize)); // tests/guest/build.sh: a 64 MiB qcow2
        Assert.Equal(guest.Cmdline, image.Cmdline);

        await daemon.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("fromcurl", "uploaded"));
        await daemon.Client.ActAndWaitAsync("fromcurl", "start");
        await daemon.WaitForConsoleAsync("fromcurl", "WORKSPACE-READY boot=1"); // its kernel, initrd, command line and disk all worked
        await daemon.Client.DeleteWorkspaceAsync("fromcurl", force: true);
    }

    private static async Task<string> Sha256Async(string path) =>
        (await Processes.MustAsync("sha256sum", [path])).Stdout.Split(' ')[0];
}
