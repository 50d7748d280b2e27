namespace Workspaces.Testing;

/// <summary>The test guest from tests/guest/build.sh (Debian cloud kernel + busybox initramfs + ext4 disk), built once and cached.</summary>
public sealed record TestGuest(string Kernel, string Initrd, string Disk, string Cmdline)
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static TestGuest? _built;

    public static async Task<TestGuest> GetAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_built is not null) return _built;
            Prerequisites.Require("qemu-system-x86_64", "qemu-img");
            var result = await Processes.RunAsync("bash", [Path.Combine(Repo.Root, "tests/guest/build.sh")], TimeSpan.FromMinutes(10));
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"tests/guest/build.sh failed ({result.ExitCode}): {result.Stderr}");
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
