using Workspaces.Daemon.Core;
using Microsoft.Extensions.Logging;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Processes;
using Workspaces.Testing;

namespace Workspaces.Tests.Unit;

/// <summary>The one runner of external tools, against real tools (printf, cat, sh, qemu-img).</summary>
public sealed class CommandRunnerTests
{
    private readonly ListLogger<CommandRunner> _log = new();
    private CommandRunner Runner => new(_log);
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Arguments_arrive_one_by_one_never_through_a_shell()
    {
        string[] args = ["%s\n", "two words", "$(touch /tmp/pwned)", "*", "a;b", "'quoted'"];
        var result = await Runner.RunAsync("printf", args, None);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(args[1..], result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_secret_goes_on_stdin_and_never_into_the_log()
    {
        const string secret = "s3cret-passphrase";
        var result = await Runner.RunAsync("cat", [], None, stdin: secret);
        Assert.Equal(secret, result.Stdout);
        var line = Assert.Single(_log.Entries, e => e.Id.Id == 5000);
        Assert.Equal(LogLevel.Debug, line.Level);
        Assert.DoesNotContain(secret, line.Message);
    }

    [Fact]
    public async Task Without_input_the_tool_reads_an_empty_stdin()
    {
        var result = await Runner.RunAsync("cat", [], None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task A_failure_is_logged_and_becomes_a_CommandException_with_tool_exit_code_and_last_stderr_line()
    {
        var result = await Runner.RunAsync("sh", ["-c", "echo first problem >&2; echo; echo 'last problem' >&2; exit 3"], None);
        Assert.False(result.Succeeded);
        var e = Assert.Throws<CommandException>(() => result.EnsureSuccess("making things"));
        Assert.Equal("sh", e.Tool);
        Assert.Equal(3, e.ExitCode);
        Assert.Equal("last problem", e.LastLine);
        Assert.Equal("making things failed (exit 3): last problem", e.Message);
        Assert.Equal(503, e.Status);

        var line = Assert.Single(_log.Entries, l => l.Id.Id == 5000).Message;
        Assert.StartsWith("sh -c 'echo first problem", line); // the command, quoted for reading
        Assert.Contains("exited 3", line);
        Assert.Contains("first problem | last problem", line); // the stderr tail
    }

    [Fact]
    public async Task A_tool_that_does_not_exist_is_a_CommandException_without_exit_code()
    {
        var e = await Assert.ThrowsAsync<CommandException>(() => Runner.RunAsync("/nonexistent/tool", ["x"], None));
        Assert.Equal("tool", e.Tool);
        Assert.Null(e.ExitCode);
        Assert.Contains("could not be run", e.Message);
    }

    [Fact]
    public async Task Canceled_the_tool_and_its_children_are_killed()
    {
        string dir = Directory.CreateTempSubdirectory("runner-").FullName;
        string pids = Path.Combine(dir, "pids");
        try
        {
            using var cts = new CancellationTokenSource();
            // sh starts a child and waits for it: a tree of two.
            var run = Runner.RunAsync("sh", ["-c", $"sleep 600 & echo $$ $! > {pids}.tmp && mv {pids}.tmp {pids}; wait"], cts.Token);
            await Wait.UntilAsync(() => File.Exists(pids), TimeSpan.FromSeconds(30), "sh wrote its pids");
            var (shell, child) = File.ReadAllText(pids).Split(' ', StringSplitOptions.TrimEntries) is [var a, var b] ? (int.Parse(a), int.Parse(b)) : throw new FormatException();
            Assert.True(ProcessTable.IsAlive(child));

            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
            Assert.False(Directory.Exists($"/proc/{shell}")); // the tool itself: exited and reaped before the cancellation returned
            // Its child got SIGKILL too; as an orphan it is reaped by init, which may take a moment.
            await Wait.UntilAsync(() => !ProcessTable.IsAlive(child), TimeSpan.FromSeconds(10), "the child of the canceled tool was killed");
            Assert.Contains(_log.Entries, e => e.Id.Id == 5001 && e.Message.Contains("was canceled"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// What a canceled `ws image flatten` does: qemu-img convert into a staging file is canceled, then
    /// the staging file is deleted. qemu-img must be gone by then, or it writes on into a deleted
    /// file (and holds its space). The source is null-co with 1 s per read: a convert that takes hours.
    /// </summary>
    [Fact]
    public async Task A_canceled_qemu_img_convert_is_gone_before_the_cancellation_returns()
    {
        string dir = Directory.CreateTempSubdirectory("runner-").FullName;
        string staging = Path.Combine(dir, "staging.qcow2");
        try
        {
            using var cts = new CancellationTokenSource();
            var run = Runner.RunAsync("qemu-img", ["convert", "-q", "--image-opts",
                "driver=raw,file.driver=null-co,file.size=64G,file.latency-ns=1000000000", "-O", "qcow2", staging], cts.Token);
            int pid = 0;
            await Wait.UntilAsync(() => File.Exists(staging) && (pid = ProcessTable.Find(a => a.Contains(staging)).FirstOrDefault()) != 0,
                TimeSpan.FromSeconds(30), "qemu-img is converting into the staging file");

            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
            // Exited and reaped, not merely sent a signal: no /proc entry left, not even a zombie's.
            Assert.False(Directory.Exists($"/proc/{pid}"), $"qemu-img (pid {pid}) is still there after the cancellation returned");
            Assert.Empty(ProcessTable.Find(a => a.Contains(staging)));
            File.Delete(staging);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
