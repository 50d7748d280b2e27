using Workspaces.Client;

namespace Workspaces.Testing;

public static class GuestImages
{
    /// <summary>Imports the test guest as a boot set with its disk.</summary>
    public static async Task<ImageInfo> ImportAsync(WorkspacesClient client, string name = "guest")
    {
        var guest = await TestGuest.GetAsync();
        return await client.ImportImageAsync(new ImageUpload(name, guest.Disk, guest.Kernel, guest.Initrd, guest.Cmdline));
    }
}
