using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Workspaces.Client;
using Workspaces.Testing;
using Xunit.Abstractions;

namespace Workspaces.Tests.Integration;

/// <summary>One daemon with two booted test guests for the whole class: "ag" runs qemu-ga, "mute" runs none (workspaces.noagent).</summary>
public sealed class AgentGuests : IAsyncLifetime
{
    public DaemonProcess Daemon { get; private set; } = null!;
    public WorkspacesClient Client => Daemon.Client;

    public async Task InitializeAsync()
    {
        Daemon = await DaemonProcess.StartAsync();
        var image = await GuestImages.ImportAsync(Client);
        await Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("ag", "guest"));
        await Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("mute", "guest", Cmdline: image.Cmdline + " workspaces.noagent"));
        await Task.WhenAll(Client.ActAndWaitAsync("ag", "start"), Client.ActAndWaitAsync("mute", "start"));
        // READY comes after qemu-ga has started (or, with the flag, after the guest said it never will).
        Assert.Contains("WORKSPACE-AGENT", await Daemon.WaitForConsoleAsync("ag", "WORKSPACE-READY"));
        Assert.Contains("WORKSPACE-NOAGENT", await Daemon.WaitForConsoleAsync("mute", "WORKSPACE-READY"));
    }

    public async Task DisposeAsync() => await Daemon.DisposeAsync();
}

public sealed class GuestExecTests(AgentGuests guests, ITestOutputHelper output) : IClassFixture<AgentGuests>
{
    private DaemonProcess Daemon => guests.Daemon;
    private WorkspacesClient Client => guests.Client;

    [Fact]
    public async Task Exec_returns_stdout_stderr_and_the_exit_code()
    {
        var failing = await Daemon.WsAsync("exec", "ag", "--", "sh", "-c", "echo out; echo err >&2; exit 3");
        Assert.Equal((3, "out\n", "err\n"), (failing.ExitCode, failing.Stdout, failing.Stderr));

        var ok = await Daemon.WsAsync("exec", "ag", "--env", "GREETING=hello there", "--cwd", "/mnt", "--", "sh", "-c", "echo \"$GREETING\" in $(pwd)");
        Assert.Equal((0, "hello there in /mnt\n", ""), (ok.ExitCode, ok.Stdout, ok.Stderr));

        var missing = await Daemon.WsAsync("exec", "ag", "--", "/no/such/command");
        Assert.Equal(127, missing.ExitCode); // the shell's "not found"
    }

    [Fact]
    public async Task Output_streams_before_the_command_ends()
    {
        // The command prints, then waits for a file that only a second exec creates once the first line
        // has arrived: without streaming, the first line would never come and this would time out.
        string flag = $"/tmp/go-{Guid.NewGuid():N}";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = new StringBuilder();
        int? exit = null;
        await foreach (var frame in Client.ExecAsync("ag", new ExecRequest(["sh", "-c", $"echo first; while [ ! -e {flag} ]; do sleep 0.1; done; echo second"]), cts.Token))
        {
            if (frame.Data is { } data) stdout.Append(Encoding.UTF8.GetString(data));
            if (stdout.ToString() == "first\n")
                Assert.Equal(0, (await Daemon.WsAsync("exec", "ag", "--", "touch", flag)).ExitCode);
            exit ??= frame.Exit;
        }
        Assert.Equal(("first\nsecond\n", 0), (stdout.ToString(), exit));
    }

    [Fact]
    public async Task A_command_that_outlives_its_timeout_is_reported_and_killed()
    {
        var clock = Stopwatch.StartNew();
        var r = await Daemon.WsAsync("exec", "ag", "--timeout", "2", "--", "sh", "-c", "echo begun; exec sleep 300");
        Assert.Equal(124, r.ExitCode);
        Assert.Equal("begun\n", r.Stdout);
        Assert.Contains("did not finish within 2 s", r.Stderr);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
        // Killed in the guest: no sleep 300 left.
        var ps = await Daemon.WsAsync("exec", "ag", "--", "sh", "-c", "ps | grep -c '[s]leep 300' || true");
        Assert.Equal("0\n", ps.Stdout);
    }

    [Fact]
    public async Task Exec_on_a_guest_without_an_agent_fails_within_seconds_with_one_clear_line()
    {
        var clock = Stopwatch.StartNew();
        var r = await Daemon.WsAsync("exec", "mute", "--", "true");
        Assert.NotEqual(0, r.ExitCode);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        Assert.StartsWith("ws: ", r.Stderr);
        Assert.Contains("no guest agent answered", r.Stderr);
        Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));

        var e = await Assert.ThrowsAsync<ApiException>(() => Client.ExecAsync("mute", new ExecRequest(["true"])).ToArrayAsync().AsTask());
        Assert.Equal(503, e.Status);
    }

    [Fact]
    public async Task Copy_round_trips_20_MiB_byte_for_byte()
    {
        string dir = Directory.CreateTempSubdirectory("ws-cp-").FullName;
        try
        {
            var bytes = RandomNumberGenerator.GetBytes(20 << 20);
            string original = Path.Combine(dir, "original"), back = Path.Combine(dir, "back");
            await File.WriteAllBytesAsync(original, bytes);
            string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));

            var clock = Stopwatch.StartNew();
            var up = await Daemon.WsAsync("cp", original, "ag:/tmp/big");
            var upTime = clock.Elapsed;
            Assert.True(up.ExitCode == 0, up.Stderr);
            var inGuest = await Daemon.WsAsync("exec", "ag", "--", "sha256sum", "/tmp/big");
            Assert.Equal($"{sha}  /tmp/big\n", inGuest.Stdout);
            var leftovers = await Daemon.WsAsync("exec", "ag", "--", "sh", "-c", "ls /tmp | grep -c partial || true");
            Assert.Equal("0\n", leftovers.Stdout); // the temporary name was renamed away

            clock.Restart();
            var down = await Daemon.WsAsync("cp", "ag:/tmp/big", back);
            var downTime = clock.Elapsed;
            Assert.True(down.ExitCode == 0, down.Stderr);
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(back))));
            output.WriteLine($"cp 20 MiB: in {upTime.TotalSeconds:0.00} s ({20 / upTime.TotalSeconds:0.0} MiB/s), out {downTime.TotalSeconds:0.00} s ({20 / downTime.TotalSeconds:0.0} MiB/s)");

            var absent = await Daemon.WsAsync("cp", "ag:/no/such/file", back);
            Assert.NotEqual(0, absent.ExitCode);
            Assert.Contains("No such file", absent.Stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Show_lists_the_agent_the_guest_os_and_its_addresses_and_never_hangs()
    {
        var ag = (await Client.GetWorkspaceWithAgentAsync("ag")).Agent!;
        Assert.True(ag.Answering, ag.Error);
        Assert.Equal("Workspaces test guest (busybox)", ag.Os!.PrettyName); // the guest's /etc/os-release
        Assert.Contains(ag.Interfaces!, i => i.Name == "lo" && i.Addresses.Contains("127.0.0.1/8"));
        var shown = await Daemon.WsAsync("show", "ag");
        Assert.Contains("answering", shown.Stdout);
        Assert.Contains("Workspaces test guest (busybox)", shown.Stdout);
        Assert.Contains("lo: 127.0.0.1/8", shown.Stdout);

        var clock = Stopwatch.StartNew();
        var mute = (await Client.GetWorkspaceWithAgentAsync("mute")).Agent!;
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(8));
        Assert.False(mute.Answering);
        Assert.Null(mute.Os);
        Assert.Null((await Client.GetWorkspaceAsync("ag")).Agent); // only asked for
    }

    [Fact]
    public async Task Stop_uses_guest_shutdown_when_an_agent_answers()
    {
        await Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("down", "guest"));
        await Client.ActAndWaitAsync("down", "start");
        await Daemon.WaitForConsoleAsync("down", "WORKSPACE-READY");
        await Client.ActAndWaitAsync("down", "stop", "timeout=30");
        var down = await Client.GetWorkspaceAsync("down");
        Assert.Equal((WorkspaceStates.Stopped, "stopped: the guest powered off after guest-shutdown"), (down.State, down.Reason));
        await using (var log = await Client.OpenConsoleAsync("down", follow: false))
        {
            string console = await new StreamReader(log).ReadToEndAsync();
            Assert.Contains("WORKSPACE-AGENT-SHUTDOWN", console); // the agent's shutdown, not the power button's
            Assert.DoesNotContain("WORKSPACE-POWERDOWN", console);
        }
        await Client.DeleteWorkspaceAsync("down");
    }

    [Fact]
    public async Task Run_prints_the_output_returns_the_exit_code_and_leaves_no_workspace()
    {
        var before = (await Client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet();
        var r = await Daemon.WsAsync("run", "guest", "--", "sh", "-c", "echo hi; exit 3");
        Assert.Equal((3, "hi\n"), (r.ExitCode, r.Stdout));
        Assert.Equal(before, (await Client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet());
        var ids = (await Client.ListWorkspacesAsync()).Select(w => w.Id).ToHashSet();
        Assert.All(Daemon.Layout.Ids(), id => Assert.Contains(id, ids)); // no directory left behind either
    }

    [Fact]
    public async Task Run_with_user_data_and_keep_leaves_the_workspace_with_its_user_data_in_the_seed()
    {
        string userData = Path.Combine(Daemon.Dir, "run-user-data");
        string marker = $"run-marker-{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(userData, $"#cloud-config\nruncmd:\n  - echo {marker}\n");
        var r = await Daemon.WsAsync("run", "guest", "--name", "kept", "--keep", "--user-data", userData, "--", "true");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var kept = await Client.GetWorkspaceAsync("kept");
        Assert.Equal(WorkspaceStates.Running, kept.State);
        // The busybox guest has no cloud-init: what it was given is read from the seed the start wrote.
        Assert.Contains(marker, await File.ReadAllTextAsync(Path.Combine(Daemon.Layout.Dir(kept.Id), "seed.iso")));
        await Client.DeleteWorkspaceAsync("kept", force: true);
    }

    [Fact]
    public async Task A_client_leaving_during_run_leaves_no_workspace()
    {
        var before = (await Client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        string? made = null;
        try
        {
            await foreach (var frame in Client.RunAsync(new RunRequest("guest", ["sh", "-c", "echo started; exec sleep 600"]), cts.Token))
            {
                made ??= frame.Workspace;
                if (frame.Data is { } data && Encoding.UTF8.GetString(data) == "started\n") cts.Cancel(); // as Ctrl-C in ws run does
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested) { }
        Assert.NotNull(made);
        Assert.True(cts.IsCancellationRequested, "the command ended on its own: the test never left mid-run");
        await Wait.UntilAsync(async () => !(await Client.ListWorkspacesAsync()).Any(w => w.Name == made), TimeSpan.FromSeconds(60),
            $"workspace {made} removed after the client left");
        Assert.Equal(before, (await Client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet());
    }

    [Fact]
    public async Task Ctrl_C_in_ws_run_leaves_no_workspace()
    {
        var before = (await Client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet();
        var (file, prefix) = Repo.Cli;
        // Through env --default-signal: a test run started in the background (CI) inherits SIGINT ignored, as a
        // shell's background job does, and ws then rightly ignores Ctrl-C; a terminal's ws has it at default.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--default-signal=INT", file, .. prefix, "--socket", Daemon.Socket, "run", "guest", "--", "sh", "-c", "echo started; exec sleep 600"])
            start.ArgumentList.Add(a);
        using var ws = Process.Start(start)!;
        var stderr = ws.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        Assert.Equal("started", await ws.StandardOutput.ReadLineAsync(patience.Token)); // the command runs in the new workspace
        Assert.Single((await Client.ListWorkspacesAsync()).Select(w => w.Name).Except(before));

        Assert.Equal(0, (await Processes.RunAsync("kill", ["-INT", ws.Id.ToString()])).ExitCode); // Ctrl-C
        await ws.WaitForExitAsync(patience.Token);
        Assert.Equal(130, ws.ExitCode);
        await Wait.UntilAsync(async () => (await Client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet().SetEquals(before),
            TimeSpan.FromSeconds(60), "the run's workspace removed after Ctrl-C");
        _ = await stderr;
    }

    [Fact]
    public async Task The_agent_socket_is_in_the_workspace_s_private_directory()
    {
        var ag = await Client.GetWorkspaceAsync("ag");
        string socket = Daemon.Layout.AgentSocket(ag.Id);
        Assert.Equal(Daemon.Layout.Dir(ag.Id), Path.GetDirectoryName(socket));
        Assert.True(new FileInfo(socket).Exists, $"no agent socket at {socket}");
        // As qmp.sock: only the guest's own uid may pass the directory (GuestFiles), so no other user reaches the socket.
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(Daemon.Layout.Dir(ag.Id)) & others);
    }

    [Fact]
    public async Task Measure_exec_latency()
    {
        var times = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            var clock = Stopwatch.StartNew();
            var r = await Daemon.WsAsync("exec", "ag", "--", "true");
            times.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(0, r.ExitCode);
        }
        times.Sort();
        output.WriteLine($"ws exec ag -- true, 20 runs: median {(times[9] + times[10]) / 2:0} ms, min {times[0]:0} ms, max {times[^1]:0} ms");

        // The same through the API alone (no ws process to start): what the daemon and the agent take.
        times.Clear();
        for (int i = 0; i < 20; i++)
        {
            var clock = Stopwatch.StartNew();
            var frames = await Client.ExecAsync("ag", new ExecRequest(["true"])).ToArrayAsync();
            times.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(0, frames[^1].Exit);
        }
        times.Sort();
        output.WriteLine($"POST exec true through the client, 20 runs: median {(times[9] + times[10]) / 2:0} ms, min {times[0]:0} ms, max {times[^1]:0} ms");
    }
}
