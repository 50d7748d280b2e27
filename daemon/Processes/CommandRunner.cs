using System.ComponentModel;
using System.Diagnostics;

namespace Workspaces.Daemon.Processes;

/// <summary>
/// The one way the daemon runs an external tool (qemu-img, qemu-system through setpriv, ip, dnsmasq,
/// the KVM probe): an argument list, never a shell string; a secret only on stdin, never on a command
/// line (readable in /proc) or in the log; cancelled, the process and whatever it forked are killed,
/// and the process is gone before the cancellation reaches the caller (so nothing writes on into a
/// file the caller then deletes); one debug line per run with the command, its exit code and the
/// tail of its stderr. A non-zero exit is the caller's to judge: CommandResult.EnsureSuccess turns it
/// into a CommandException.
/// </summary>
public sealed class CommandRunner(ILogger<CommandRunner> logger)
{
    /// <summary>
    /// Runs file with these arguments and waits for it to exit and close its output. stdin, when
    /// given, is written and closed first; otherwise the tool reads an empty stdin. A tool that
    /// daemonizes (QEMU -daemonize, dnsmasq) returns when its first process has exited and the
    /// daemon has let go of the output pipes, as both do once they are up.
    /// </summary>
    /// <exception cref="CommandException">The tool could not be started (ExitCode is null).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the process was killed and has exited.</exception>
    public async Task<CommandResult> RunAsync(string file, IReadOnlyList<string> arguments, CancellationToken ct, string? stdin = null)
    {
        ct.ThrowIfCancellationRequested();
        string tool = Path.GetFileName(file);
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);

        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("no process was started");
        }
        catch (Win32Exception e)
        {
            CommandLog.NotStarted(logger, e, CommandText.Display(file, arguments));
            throw new CommandException(tool, null, e.Message, $"{tool} could not be run: {e.Message}");
        }

        using (process)
        {
            int pid = process.Id;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            try
            {
                await WriteInputAsync(process, stdin, ct);
                await process.WaitForExitAsync(ct);
                var result = new CommandResult(tool, arguments, process.ExitCode, await stdout, await stderr);
                if (logger.IsEnabled(LogLevel.Debug))
                    CommandLog.Exited(logger, CommandText.Display(file, arguments), pid, result.ExitCode, clock.ElapsedMilliseconds,
                        CommandText.Tail(result.Stderr));
                return result;
            }
            catch (Exception e)
            {
                // Cancelled, or our side of a pipe broke: the tool must not run on unsupervised.
                Observe(stdout);
                Observe(stderr);
                await KillAsync(process, pid);
                if (e is OperationCanceledException && ct.IsCancellationRequested)
                    CommandLog.Canceled(logger, CommandText.Display(file, arguments), pid, clock.ElapsedMilliseconds);
                throw;
            }
        }
    }

    private static async Task WriteInputAsync(Process process, string? stdin, CancellationToken ct)
    {
        try
        {
            if (stdin is not null) await process.StandardInput.WriteAsync(stdin.AsMemory(), ct);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // EPIPE: the tool exited without reading its input. Its exit code and stderr say why.
        }
    }

    /// <summary>SIGKILL to the process and every process below it, then waits until the process has exited (and is reaped).</summary>
    private async Task KillAsync(Process process, int pid)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited (and was reaped) before the signal: nothing left to kill.
        }
        catch (AggregateException e)
        {
            // Some process of the tree could not be signalled (it exited meanwhile, or is not ours to kill).
            CommandLog.KillIncomplete(logger, e, pid);
        }
        // Our own child: .NET reaps it, so this ends as soon as the kernel has taken it down.
        await process.WaitForExitAsync(CancellationToken.None);
    }

    /// <summary>A read abandoned after a kill may still fault; nobody awaits it any more, so its exception is observed here.</summary>
    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
