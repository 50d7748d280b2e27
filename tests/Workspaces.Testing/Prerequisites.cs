namespace Workspaces.Testing;

/// <summary>Integration tests need real tools; a missing one fails the test with what to install, never a silent skip.</summary>
public static class Prerequisites
{
    /// <summary>The Debian package of each command the tests run (what packaging/install-deps.sh installs).</summary>
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["qemu-system-x86_64"] = "qemu-system-x86", ["qemu-img"] = "qemu-utils", ["busybox"] = "busybox-static",
        ["ip"] = "iproute2", ["nft"] = "nftables", ["dnsmasq"] = "dnsmasq-base", ["openssl"] = "openssl",
        ["systemd-nspawn"] = "systemd-container", ["nsenter"] = "util-linux", ["setpriv"] = "util-linux", ["flock"] = "util-linux",
        ["useradd"] = "passwd", ["dpkg"] = "dpkg", ["unshare"] = "util-linux", ["findmnt"] = "util-linux", ["socat"] = "socat", ["curl"] = "curl", ["sha256sum"] = "coreutils",
    };

    public static void Require(params string[] commands)
    {
        var missing = commands.Where(c => !OnPath(c)).ToArray();
        if (missing.Length > 0)
            throw new InvalidOperationException(
                $"missing prerequisite(s): {string.Join(", ", missing)} — run packaging/install-deps.sh " +
                $"(apt-get install {string.Join(' ', missing.Select(c => Packages.GetValueOrDefault(c, c)).Distinct())})");
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
