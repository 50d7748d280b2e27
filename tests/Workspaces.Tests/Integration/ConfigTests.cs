using System.Text.Json;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// The configuration is checked before it is used: a bad file stops the start with a line naming the
/// value, and a reload (SIGHUP) takes a good file whole — the socket's mode included — or refuses a
/// bad one whole, the daemon serving on with what it had.
/// </summary>
public sealed class ConfigTests
{
    [Fact]
    public async Task A_bad_value_stops_the_start_with_one_line_naming_it()
    {
        await using var daemon = new DaemonProcess(new() { ["accelerator"] = "fast", ["policy"] = new Dictionary<string, object> { ["maxVcpus"] = 0 } });
        var started = await Assert.ThrowsAsync<InvalidOperationException>(daemon.StartAsync);
        Assert.Contains("exited (2) at start", started.Message);
        Assert.Contains("accelerator must be auto, kvm or tcg", started.Message);
        Assert.Contains("MaxVcpus", started.Message);
    }

    [Fact]
    public async Task A_reload_takes_a_good_file_with_the_socket_mode_and_refuses_a_bad_one_whole()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var daemon = await DaemonProcess.StartAsync();
        File.SetUnixFileMode(daemon.Dir, (UnixFileMode)Convert.ToInt32("755", 8));
        Assert.Equal("660", Mode(daemon.Socket));
        Assert.NotEqual(0, (await user.WsAsync(daemon.Socket, "list")).ExitCode);

        // Users admitted by a reload can connect at once: the socket follows the configuration.
        Rewrite(daemon, c => c["allowUsers"] = true);
        Hangup(daemon);
        try
        {
            await Wait.UntilAsync(() => Mode(daemon.Socket) == "666", TimeSpan.FromSeconds(10), "the socket opened to users by the reload");
        }
        catch (TimeoutException e)
        {
            // Seen once in CI under load, not reproduced: keep what the daemon said for the next time.
            throw new TimeoutException($"{e.Message}; the daemon logged:\n{daemon.Log}", e);
        }
        var listed = await user.WsAsync(daemon.Socket, "list");
        Assert.True(listed.ExitCode == 0, listed.Stderr);

        // A file that does not validate changes nothing: users stay admitted, the daemon serves on.
        Rewrite(daemon, c => { c["allowUsers"] = false; c["stopTimeoutSeconds"] = -1; });
        Hangup(daemon);
        await Wait.UntilAsync(() => daemon.Log.Contains("Reload refused"), TimeSpan.FromSeconds(10), "the refused reload in the log");
        Assert.Contains("StopTimeoutSeconds", daemon.Log);
        Assert.Equal("666", Mode(daemon.Socket));
        Assert.Equal(0, (await user.WsAsync(daemon.Socket, "list")).ExitCode);
        Assert.NotNull(await daemon.Client.GetHostAsync());
    }

    [Fact]
    public async Task A_daemon_started_under_nohup_still_reloads_on_sighup()
    {
        // nohup hands the daemon SIGHUP ignored, and .NET then installs no handler unless the daemon resets it.
        await using var daemon = new DaemonProcess { Launcher = ["nohup"] }; // nohup execs the daemon: same pid
        await daemon.StartAsync();
        Assert.False(Ignores(daemon.Pid, signal: 1), "the daemon still ignores SIGHUP, as nohup handed it over");
        Rewrite(daemon, c => c["allowUsers"] = true);
        Hangup(daemon);
        await Wait.UntilAsync(() => Mode(daemon.Socket) == "666", TimeSpan.FromSeconds(10), "the reload of a daemon started under nohup");
    }

    /// <summary>Whether the process ignores the signal (its bit in /proc/PID/status SigIgn).</summary>
    private static bool Ignores(int pid, int signal) =>
        (Convert.ToUInt64(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))[7..].Trim(), 16)
         & (1UL << (signal - 1))) != 0;

    private static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);

    private static void Hangup(DaemonProcess daemon) => Workspaces.Native.Libc.SendSignal(daemon.Pid, 1); // SIGHUP

    private static void Rewrite(DaemonProcess daemon, Action<Dictionary<string, object?>> change)
    {
        var config = JsonSerializer.Deserialize<Dictionary<string, object?>>(File.ReadAllText(daemon.ConfigPath))!;
        change(config);
        File.WriteAllText(daemon.ConfigPath, JsonSerializer.Serialize(config));
    }
}
