using System.Diagnostics;

namespace Workspaces.Bench;

/// <summary>
/// A libvirtd of the benchmark's own holding defined domains, for `virsh list --all`: the session daemon
/// (qemu:///session) of an unprivileged user kept for benchmarks, with the domain definitions written into
/// its config dir before its first start, which reads them. (`virsh define` through the system libvirtd takes
/// about 50 s a domain on these machines, its forked children waiting on the slow reaper; and the system
/// daemon's domains are not the benchmark's to add or remove.) virsh is started directly as that user, so no
/// setpriv or sudo is in the timing.
/// </summary>
public sealed class LibvirtSession : IAsyncDisposable
{
    public const string User = "ws-bench-libvirt";
    private readonly string _home;

    private LibvirtSession(string home) => _home = home;

    public static async Task<LibvirtSession> StartAsync(string dir, int domains)
    {
        if ((await Measure.RunAsync("id", "-u", User)).Code != 0)
            await Measure.MustAsync("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", User);
        string home = Path.Combine(dir, "libvirt-session");
        string definitions = Path.Combine(home, ".config", "libvirt", "qemu");
        Directory.CreateDirectory(definitions);
        for (int i = 0; i < domains; i++)
            await File.WriteAllTextAsync(Path.Combine(definitions, $"bench-{i:000}.xml"), $"""
                <domain type='qemu'>
                  <name>bench-{i:000}</name>
                  <uuid>{Guid.NewGuid()}</uuid>
                  <memory unit='MiB'>256</memory>
                  <vcpu>1</vcpu>
                  <os><type arch='x86_64' machine='q35'>hvm</type></os>
                </domain>

                """);
        await Measure.MustAsync("chown", "-R", $"{User}:{User}", home);
        var session = new LibvirtSession(home);
        // The first connection starts the daemon (libvirtd --timeout=120), which loads the definitions.
        var (code, output, err) = await Measure.RunAsync(session.Virsh());
        int rows = output.Split('\n').Count(l => l.Contains(" bench-", StringComparison.Ordinal));
        if (code != 0 || rows != domains)
            throw new InvalidOperationException($"the session libvirtd of {User} lists {rows} of {domains} domains ({code}): {err.Trim()}");
        return session;
    }

    /// <summary>`virsh -c qemu:///session list --all` as the benchmark's user, in its home.</summary>
    public ProcessStartInfo Virsh()
    {
        var start = new ProcessStartInfo("virsh") { UserName = User, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", "qemu:///session", "list", "--all" }) start.ArgumentList.Add(a);
        start.Environment.Clear();
        start.Environment["HOME"] = _home;
        start.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        return start;
    }

    public async ValueTask DisposeAsync()
    {
        // The daemon this session started: it would leave by itself 120 s after its last client.
        string pidFile = Path.Combine(_home, ".cache", "libvirt", "libvirtd.pid");
        if (File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), out int pid))
        {
            try
            {
                using var daemon = Process.GetProcessById(pid);
                daemon.Kill();
                await daemon.WaitForExitAsync();
            }
            catch (ArgumentException) { } // already gone
        }
    }
}
