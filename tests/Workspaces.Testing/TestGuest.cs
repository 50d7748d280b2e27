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
            return _built ??= await BuildAsync("tests/guest/build.sh", TimeSpan.FromMinutes(10), "qemu-system-x86_64", "qemu-img");
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// Runs a guest build script (cached by the script itself), which prints its output directory last:
    /// vmlinuz, initrd.img, disk.qcow2 and cmdline there make the guest.
    /// </summary>
    internal static async Task<TestGuest> BuildAsync(string script, TimeSpan timeout, params string[] tools)
    {
        Prerequisites.Require(tools);
        var result = await Processes.RunAsync("bash", [Path.Combine(Repo.Root, script)], timeout);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed ({result.ExitCode}): {result.Stderr}");
        string dir = result.Stdout.Trim().Split('\n').Last();
        return new TestGuest(Path.Combine(dir, "vmlinuz"), Path.Combine(dir, "initrd.img"), Path.Combine(dir, "disk.qcow2"),
            File.ReadAllText(Path.Combine(dir, "cmdline")).Trim());
    }
}
