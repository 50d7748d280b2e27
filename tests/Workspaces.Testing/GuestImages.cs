using Workspaces.Client;

namespace Workspaces.Testing;

public static class GuestImages
{
    /// <summary>Imports the test guest as a boot set with its disk.</summary>
    public static async Task<ImageInfo> ImportAsync(WorkspacesClient client, string name = "guest", bool encrypt = false)
    {
        var guest = await TestGuest.GetAsync();
        return await client.ImportLocalImageAsync(new ImageUpload(name, guest.Disk, guest.Kernel, guest.Initrd, guest.Cmdline, encrypt));
    }

    /// <summary>Imports the Debian test guest (cloud-init, qemu-guest-agent) as a boot set with its disk.</summary>
    public static async Task<ImageInfo> ImportDebianAsync(WorkspacesClient client, string name = "debian")
    {
        var guest = await DebianGuest.GetAsync();
        return await client.ImportLocalImageAsync(new ImageUpload(name, guest.Disk, guest.Kernel, guest.Initrd, guest.Cmdline, false));
    }

    /// <summary>The guest's command line plus workspaces.mark=WORD: the guest appends WORD to a file on its disk.</summary>
    public static async Task<string> CmdlineWithMarkAsync(string word) => $"{(await TestGuest.GetAsync()).Cmdline} workspaces.mark={word}";
}
