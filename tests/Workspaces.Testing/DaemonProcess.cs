using System.Diagnostics;
using System.Text.Json;
using Workspaces.Client;

namespace Workspaces.Testing;

/// <summary>
/// A real workspacesd in a private state dir and socket, run as a child process so a test can
/// SIGKILL it and start it again on the same state. Disposing kills it and every QEMU it left.
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private Process? _process;
    private readonly System.Text.StringBuilder _log = new();

    public DaemonProcess(Dictionary<string, object>? config = null, string? netns = null)
    {
        NetNs = netns;
        Dir = Directory.CreateTempSubdirectory("ws-test-").FullName;
        File.SetUnixFileMode(Dir, (UnixFileMode)Convert.ToInt32("711", 8)); // guests run as their own uids and must reach their files
        StateDir = Path.Combine(Dir, "state");
        Socket = Path.Combine(Dir, "ws.sock");
        ConfigPath = Path.Combine(Dir, "workspacesd.json");
        var settings = new Dictionary<string, object> { ["accelerator"] = "tcg", ["stopTimeoutSeconds"] = 20 };
        foreach (var (k, v) in config ?? []) settings[k] = v;
        File.WriteAllText(ConfigPath, JsonSerializer.Serialize(settings));
        Client = new WorkspacesClient(Socket);
    }

    public string Dir { get; }
    public string StateDir { get; }

    /// <summary>Where the daemon keeps each workspace's files (the daemon's own layout).</summary>
    public Workspaces.Daemon.Workspaces.WorkspaceLayout Layout => new(Path.Combine(StateDir, "workspaces"));
    public string Socket { get; }
    public string ConfigPath { get; }
    public WorkspacesClient Client { get; }
    public string Log { get { lock (_log) return _log.ToString(); } }
    public int Pid => _process?.Id ?? 0;

    /// <summary>A command the daemon runs under (it execs the rest of its arguments), e.g. one that makes a mount namespace first.</summary>
    public string[] Launcher { get; init; } = [];

    /// <summary>Extra environment for the next start (e.g. WORKSPACES_CRASH_AT, a crash point).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Waits until the daemon exits by itself (a crash point), within a timeout.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        if (_process is null) return;
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.Dispose();
        _process = null;
    }

    /// <summary>The network namespace the daemon (and so its bridges, rules and guests) lives in, if any.</summary>
    public string? NetNs { get; }

    public static async Task<DaemonProcess> StartAsync(Dictionary<string, object>? config = null, string? netns = null)
    {
        var daemon = new DaemonProcess(config, netns);
        await daemon.StartAsync();
        return daemon;
    }

    public async Task StartAsync()
    {
        Prerequisites.Require("qemu-system-x86_64", "qemu-img");
        var (file, prefix) = Repo.Daemon;
        string[] command = [.. Launcher, .. NetNs is null ? [] : new[] { "ip", "netns", "exec", NetNs }, file, .. prefix,
            "--config", ConfigPath, "--state-dir", StateDir, "--socket", Socket];
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1)) start.ArgumentList.Add(a);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (k, v) in Environment) start.Environment[k] = v;
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"workspacesd exited ({_process.ExitCode}) at start:\n{Log}");
            try
            {
                await Client.ListWorkspacesAsync();
                return;
            }
            catch (HttpRequestException) when (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    /// <summary>QEMU processes that belong to this daemon's state dir.</summary>
    public IEnumerable<int> QemuPids() => PidsOf("qemu");

    /// <summary>Other processes the daemon started for this state dir and left running on purpose (dnsmasq).</summary>
    private IEnumerable<int> Helpers() => PidsOf("dnsmasq");

    /// <summary>Live dnsmasq processes serving networks of this state dir.</summary>
    public IReadOnlyList<int> DnsmasqPids() => PidsOf("dnsmasq");

    /// <summary>Live processes whose name starts so and whose command line names a path in this state dir.</summary>
    private List<int> PidsOf(string comm) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out int pid) ? pid : 0)
            .Where(pid => pid > 0 && Processes.IsAlive(pid))
            .Where(pid =>
            {
                try { return File.ReadAllText($"/proc/{pid}/cmdline").Contains(StateDir + "/", StringComparison.Ordinal) && File.ReadAllText($"/proc/{pid}/comm").StartsWith(comm, StringComparison.Ordinal); }
                catch (IOException) { return false; }
            })
            .ToList();

    /// <summary>Runs ws against this daemon's socket, as a user on this host would.</summary>
    public Task<Processes.Result> WsAsync(params string[] args)
    {
        var (file, prefix) = Repo.Cli;
        return Processes.RunAsync(file, [.. prefix, "--socket", Socket, .. args], TimeSpan.FromMinutes(5));
    }

    /// <summary>Waits until the console log of a workspace holds a line.</summary>
    public async Task<string> WaitForConsoleAsync(string workspace, string text, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        string log = "";
        while (clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(90)))
        {
            await using (var stream = await Client.OpenConsoleAsync(workspace, follow: false))
                log = await new StreamReader(stream).ReadToEndAsync();
            if (log.Contains(text, StringComparison.Ordinal)) return log;
            await Task.Delay(200);
        }
        throw new TimeoutException($"'{text}' did not appear on {workspace}'s console; it shows:\n{log}");
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        foreach (var pid in QemuPids().Concat(Helpers()))
        {
            try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { }
        }
        Client.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
