namespace Workspaces.Testing;

/// <summary>
/// The Debian test guest from tests/guest/build-debian.sh (bookworm minbase with systemd, cloud-init,
/// qemu-guest-agent), built once and cached; WORKSPACES_DEBIAN_GUEST_DIR moves its cache.
/// </summary>
public static class DebianGuest
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static TestGuest? _built;

    public static async Task<TestGuest> GetAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _built ??= await TestGuest.BuildAsync("tests/guest/build-debian.sh", TimeSpan.FromMinutes(30), "qemu-system-x86_64", "qemu-img", "genisoimage");
        }
        finally
        {
            Gate.Release();
        }
    }
}
