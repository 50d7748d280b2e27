namespace Workspaces.Testing;

/// <summary>Integration tests need real tools; a missing one fails the test with what to install, never a silent skip.</summary>
public static class Prerequisites
{
    public static void Require(params string[] commands)
    {
        var missing = commands.Where(c => !OnPath(c)).ToArray();
        if (missing.Length > 0)
            throw new InvalidOperationException(
                $"missing prerequisite(s): {string.Join(", ", missing)} — run packaging/install-deps.sh (apt-get install qemu-system-x86 qemu-utils busybox-static cpio e2fsprogs)");
    }

    public static void RequireRoot()
    {
        if (Environment.UserName != "root" && !string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal)
            && File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:")).Split('\t')[1] != "0")
            throw new InvalidOperationException("this test needs root (it creates a local user and switches to it); run the tests as root");
    }

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, command)));
}
