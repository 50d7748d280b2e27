namespace Workspaces.Testing;

/// <summary>
/// A real systemd for a test: a container booted by tests/systemd/container.sh (an overlay of this machine's /,
/// systemd as PID 1 with its own dbus, journald and machined), its commands run inside with their output logged.
/// </summary>
public sealed class SystemdContainer : IAsyncDisposable
{
    private static string Script => Path.Combine(Repo.Root, "tests/systemd/container.sh");
    private readonly Action<string> _log;

    private SystemdContainer(string name, Action<string> log) => (Name, _log) = (name, log);

    public string Name { get; }

    /// <summary>Boots one (named prefix-RANDOM); fails with what is missing when this machine cannot run it.</summary>
    public static async Task<SystemdContainer> BootAsync(string prefix, Action<string> log, params string[] needs)
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require(["systemd-nspawn", "nsenter", .. needs]);
        var container = new SystemdContainer($"{prefix}-{Guid.NewGuid().ToString("N")[..8]}", log);
        var up = await Processes.RunAsync(Script, ["up", container.Name], TimeSpan.FromMinutes(2),
            new Dictionary<string, string> { ["WS_CT_MASK"] = "postgresql.service libvirtd.service" });
        if (up.ExitCode == 0) return container;
        await container.DisposeAsync(); // whatever half of it came up
        throw new InvalidOperationException($"the systemd container did not boot: {up.Stderr}");
    }

    /// <summary>Runs a shell command inside; its trimmed stdout, once it exited as expected.</summary>
    public async Task<string> ExecAsync(string command, int expect = 0)
    {
        var r = await Processes.RunAsync(Script, ["exec", Name, "sh", "-c", command], TimeSpan.FromMinutes(3));
        _log($"# {command}\n{r.Stdout}{r.Stderr}");
        if (r.ExitCode != expect) throw new InvalidOperationException($"`{command}` exited {r.ExitCode}, not {expect}: {r.Stderr}{r.Stdout}");
        return r.Stdout.Trim();
    }

    /// <summary>
    /// Copies a file or directory of this machine into the container (which sees this machine's / but not its
    /// /tmp, /run and other submounts).
    /// </summary>
    public async Task CopyInAsync(string path, string to)
    {
        var r = await Processes.RunAsync(Script, ["cp", Name, path, to], TimeSpan.FromMinutes(2));
        if (r.ExitCode != 0) throw new InvalidOperationException($"copying {path} into the container failed: {r.Stderr}");
    }

    public async ValueTask DisposeAsync() => await Processes.RunAsync(Script, ["down", Name], TimeSpan.FromMinutes(2));
}
