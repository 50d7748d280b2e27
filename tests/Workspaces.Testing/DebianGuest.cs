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
            if (_built is not null) return _built;
            Prerequisites.Require("qemu-system-x86_64", "qemu-img", "genisoimage");
            var result = await Processes.RunAsync("bash", [Path.Combine(Repo.Root, "tests/guest/build-debian.sh")], TimeSpan.FromMinutes(30));
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"tests/guest/build-debian.sh failed ({result.ExitCode}): {result.Stderr}");
            string dir = result.Stdout.Trim().Split('\n').Last();
            _built = new TestGuest(Path.Combine(dir, "vmlinuz"), Path.Combine(dir, "initrd.img"), Path.Combine(dir, "disk.qcow2"),
                File.ReadAllText(Path.Combine(dir, "cmdline")).Trim());
            return _built;
        }
        finally
        {
            Gate.Release();
        }
    }
}
